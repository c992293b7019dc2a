using Notify.Migrations;
using Notify.Modules;
using Notify.Modules.Abstractions.Modules;

// One-shot step: migrate every module's schema (and Quartz's), seed, exit. The API and Worker wait for it
// to complete, so replicas never race each other to migrate.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
// EF logs its probe of a not-yet-created migrations history table as an error on a fresh database;
// real failures still surface through MigrationRunner's own critical log and the step's exit code.
builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Critical);
builder.AddNotifyModules(HostRole.Migrations, ModuleCatalog.All);
builder.Services.AddHostedService<MigrationRunner>();

await builder.Build().RunAsync();
