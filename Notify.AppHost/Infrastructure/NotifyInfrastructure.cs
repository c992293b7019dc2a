namespace Notify.AppHost.Infrastructure;

/// <summary>The four infrastructure resources the API and Worker reference, whichever way they run.</summary>
internal sealed record NotifyInfrastructure(
    InfrastructureMode Mode,
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Redis,
    IResourceBuilder<IResourceWithConnectionString> RabbitMq,
    IResourceBuilder<IResourceWithConnectionString> Smtp,
    EndpointReference SmtpWebUi);

internal static class NotifyInfrastructureExtensions
{
    public const string DatabaseName = "notify";

    public static NotifyInfrastructure AddNotifyInfrastructure(this IDistributedApplicationBuilder builder, int? smtpUiPort)
    {
        var mode = InfrastructureModeSelector.Select(
            builder.Configuration[InfrastructureModeSelector.ConfigurationKey],
            builder.ExecutionContext.IsPublishMode,
            InfrastructureModeSelector.ContainerRuntimeAnswers);

        return mode == InfrastructureMode.Containers
            ? builder.AddContainerInfrastructure(smtpUiPort)
            : builder.AddLocalInfrastructure(smtpUiPort);
    }

    /// <summary>Makes a project use all four, under the connection names the modules expect.</summary>
    public static IResourceBuilder<ProjectResource> WithInfrastructure(this IResourceBuilder<ProjectResource> project, NotifyInfrastructure infra) =>
        project
            .WithReference(infra.Database, DatabaseName).WaitFor(infra.Database)
            .WithReference(infra.Redis, "redis").WaitFor(infra.Redis)
            .WithReference(infra.RabbitMq, "rabbitmq").WaitFor(infra.RabbitMq)
            .WithReference(infra.Smtp, "smtp").WaitFor(infra.Smtp);
}
