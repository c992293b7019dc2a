using System.Text.Json;
using FastEndpoints;
using FastEndpoints.Swagger;
using Microsoft.AspNetCore.Diagnostics;
using Notify.Modules.Abstractions.Http;
using Notify.Modules;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Access;
using Notify.Modules.Access.Contracts;
using Scalar.AspNetCore;

namespace Notify.Api;

internal static class ApiHostExtensions
{
    public static WebApplicationBuilder AddNotifyApi(this WebApplicationBuilder builder)
    {
        var modules = ModuleCatalog.All;
        builder.AddNotifyModules(HostRole.Api, modules);

        builder.Services.AddProblemDetails();
        builder.Services.AddFastEndpoints(o => o.Assemblies = modules.Select(m => m.GetType().Assembly).Distinct());
        builder.Services.SwaggerDocument(o =>
        {
            o.DocumentSettings = s =>
            {
                s.DocumentName = "v1";
                s.Title = "Notify API";
                s.Version = "v1";
                s.Description = "Multi-channel notifications. Authenticate with 'Authorization: Bearer ntf_...'.";
            };
            o.EnableJWTBearerAuth = false;
            o.ShortSchemaNames = true;
        });
        return builder;
    }

    public static WebApplication UseNotifyApi(this WebApplication app)
    {
        app.UseExceptionHandler(); // unhandled errors → 500 problem details, no stack traces
        app.UseStatusCodePages(); // empty 4xx (unknown routes, 405s) → problem details
        app.UseAccess();
        app.UseFastEndpoints(c =>
        {
            c.Endpoints.RoutePrefix = null;
            c.Security.PermissionsClaimType = AccessClaims.Scope;
            c.Serializer.Options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            c.Errors.UseProblemDetails(p =>
            {
                p.AllowDuplicateErrors = true;
                p.IndicateErrorCode = false;
                p.IndicateErrorSeverity = false;
                // Transformers, not just values: FastEndpoints' default transformers would replace the values.
                p.TypeTransformer = _ => Problems.TypeBase + "validation";
                p.TitleTransformer = _ => "The request is not valid";
            });
        });
        app.UseSwaggerGen(); // /swagger/v1/swagger.json
        app.MapScalarApiReference("/reference", o => o
            .WithTitle("Notify API")
            .WithOpenApiRoutePattern("/swagger/{documentName}/swagger.json"));
        app.MapGet("/", () => Results.Redirect("/reference")).ExcludeFromDescription();
        app.MapDefaultEndpoints();
        return app;
    }
}
