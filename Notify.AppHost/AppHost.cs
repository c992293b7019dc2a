using Notify.AppHost;
using Notify.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

// Stable local URLs so people and scripts find the API and the SMTP sink without reading logs;
// "0" picks a free port (the tests do, so they never clash with a running AppHost).
var apiPort = Port(builder.Configuration["Notify:ApiPort"], 5080);
var smtpUiPort = Port(builder.Configuration["Notify:SmtpUiPort"], 5081);

var infra = builder.AddNotifyInfrastructure(smtpUiPort);
var bootstrapKey = builder.AddBootstrapAdminKey();
var signingKey = builder.AddSigningKey();

var migrations = builder.AddProject<Projects.Notify_Migrations>("migrations")
    .WithReference(infra.Database, NotifyInfrastructureExtensions.DatabaseName).WaitFor(infra.Database)
    .WithEnvironment("Notify__BootstrapAdminKey", bootstrapKey);

var api = builder.AddProject<Projects.Notify_Api>("api")
    .WithHttpEndpoint(port: apiPort, name: "http")
    .WithExternalHttpEndpoints()
    .WithInfrastructure(infra)
    .WaitForCompletion(migrations)
    .WithHttpHealthCheck("/health");
// Links in emails and pages point at the API, whichever process builds them.
var publicBaseUrl = api.GetEndpoint("http");
api.WithEnvironment("Notify__SigningKey", signingKey).WithEnvironment("Notify__PublicBaseUrl", publicBaseUrl);

var worker = builder.AddProject<Projects.Notify_Worker>("worker")
    .WithHttpEndpoint(name: "http")
    .WithInfrastructure(infra)
    .WithEnvironment("Notify__SigningKey", signingKey)
    .WithEnvironment("Notify__PublicBaseUrl", publicBaseUrl)
    .WaitForCompletion(migrations)
    .WithHttpHealthCheck("/health");

if (builder.ExecutionContext.IsRunMode)
{
    // Development: webhook receivers and providers on localhost are allowed (SSRF protection stays on in deployments),
    // and a channel with no provider configured goes to the development sink, so everything runs with no credentials.
    api.WithEnvironment("Notify__Webhooks__AllowPrivateAddresses", "true");
    worker.WithEnvironment("Notify__Webhooks__AllowPrivateAddresses", "true")
        .WithEnvironment("Notify__Providers__AllowPrivateAddresses", "true")
        .WithEnvironment("Notify__Providers__DevelopmentSink", "true");
    builder.LogResourceStates();
    StartupBanner.PrintWhenReady(builder, infra, api, GeneratedSecrets.Value(builder, GeneratedSecrets.BootstrapAdminKey));
}

builder.Build().Run();

static int? Port(string? configured, int fallback) => configured switch
{
    null or "" => fallback,
    "0" => null,
    _ => int.Parse(configured, System.Globalization.CultureInfo.InvariantCulture),
};
