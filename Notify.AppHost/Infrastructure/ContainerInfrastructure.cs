namespace Notify.AppHost.Infrastructure;

internal static class ContainerInfrastructure
{
    // Pinned to the majors the local mode runs (Debian 12's packages), so both modes test the same servers.
    private const string PostgresTag = "15";
    private const string RedisTag = "7.0";
    private const string RabbitMqTag = "3.10-management";
    private const string Smtp4devImage = "rnwood/smtp4dev";
    private const string Smtp4devTag = "v3";

    public static NotifyInfrastructure AddContainerInfrastructure(this IDistributedApplicationBuilder builder, int? smtpUiPort)
    {
        var postgres = builder.AddPostgres("postgres").WithImageTag(PostgresTag).WithDataVolume();
        var database = postgres.AddDatabase(NotifyInfrastructureExtensions.DatabaseName);
        var redis = builder.AddRedis("redis").WithImageTag(RedisTag);
        var rabbitMq = builder.AddRabbitMQ("rabbitmq").WithImageTag(RabbitMqTag).WithDataVolume();

        var smtp = builder.AddResource(new SmtpContainerResource("smtp"))
            .WithImage(Smtp4devImage, Smtp4devTag)
            .WithHttpEndpoint(port: smtpUiPort, targetPort: 80, name: SmtpContainerResource.HttpEndpointName)
            .WithEndpoint(targetPort: 25, name: SmtpContainerResource.SmtpEndpointName, scheme: "smtp")
            .WithHttpHealthCheck("/", endpointName: SmtpContainerResource.HttpEndpointName);

        return new NotifyInfrastructure(
            InfrastructureMode.Containers,
            database,
            redis,
            rabbitMq,
            smtp,
            smtp.GetEndpoint(SmtpContainerResource.HttpEndpointName));
    }
}

/// <summary>smtp4dev from its image, exposing its SMTP port as a connection string.</summary>
internal sealed class SmtpContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    public const string SmtpEndpointName = "smtp";
    public const string HttpEndpointName = "http";

    public ReferenceExpression ConnectionStringExpression
    {
        get
        {
            var smtp = new EndpointReference(this, SmtpEndpointName);
            return ReferenceExpression.Create($"smtp://{smtp.Property(EndpointProperty.Host)}:{smtp.Property(EndpointProperty.Port)}");
        }
    }
}
