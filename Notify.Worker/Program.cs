using Notify.Modules;
using Notify.Modules.Abstractions.Modules;

// The Worker runs the modules' consumers, outbox relays and scheduled jobs; HTTP only serves health checks.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddNotifyModules(HostRole.Worker, ModuleCatalog.All);

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
