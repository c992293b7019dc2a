using Notify.Modules;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Scheduling;

// The Worker runs the modules' consumers, outbox relays and scheduled jobs; HTTP only serves health checks.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddNotifyModules(HostRole.Worker, ModuleCatalog.All);
builder.AddNotifyScheduling();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
