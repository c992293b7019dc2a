using Notify.Migrations;
using Notify.Modules;
using Notify.Modules.Abstractions.Modules;

// One-shot step: migrate every module's schema (and Quartz's), seed, exit. The API and Worker wait for it
// to complete, so replicas never race each other to migrate.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.AddNotifyModules(HostRole.Migrations, ModuleCatalog.All);
builder.Services.AddHostedService<MigrationRunner>();

await builder.Build().RunAsync();
