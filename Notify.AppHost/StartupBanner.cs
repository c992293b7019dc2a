using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notify.AppHost.Infrastructure;

namespace Notify.AppHost;

/// <summary>Prints where everything is once the API is healthy (the dashboard prints its own login link).</summary>
internal static class StartupBanner
{
    public static void PrintWhenReady(IDistributedApplicationBuilder builder, NotifyInfrastructure infra, IResourceBuilder<ProjectResource> api, string? bootstrapKey)
    {
        builder.Eventing.Subscribe<ResourceReadyEvent>(api.Resource, (e, ct) =>
        {
            var apiUrl = api.GetEndpoint("http").Url;
            var smtpUrl = infra.SmtpWebUi.Url;
            var logger = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Notify");
            logger.LogInformation(
                """

                ================================ Notify is running ================================
                  Infrastructure:       {Mode} (set Notify__Infrastructure=Local|Containers to force)
                  API:                  {ApiUrl}
                  API reference:        {ApiUrl}/reference   (OpenAPI: {ApiUrl}/swagger/v1/swagger.json)
                  SMTP sink (smtp4dev): {SmtpUrl}
                  Bootstrap admin key:  {Key}
                  Try: curl -H "Authorization: Bearer <key>" {ApiUrl}/v1/api-keys
                ====================================================================================
                """,
                infra.Mode, apiUrl, apiUrl, apiUrl, smtpUrl, bootstrapKey ?? "(not set)", apiUrl);
            return Task.CompletedTask;
        });
    }
}
