using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Dispatch;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.DeadLetters;
using Notify.Modules.Delivery.Features.SendNotification;
using Notify.Modules.Delivery.Inbox;
using Notify.Modules.Delivery.Providers;
using Notify.Modules.Delivery.Scheduling;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Delivery.Tracking;

namespace Notify.Modules.Delivery;

/// <summary>
/// The send API, notifications with their deliveries and timeline, the dispatch pipeline, the email and in-app channels,
/// and the provider channels (SMS, push, webhook) with provider accounts, receipts and email tracking.
/// </summary>
public sealed class DeliveryModule : IModule
{
    public string Name => DeliveryDbContext.Schema;

    public void Register(IHostApplicationBuilder builder, HostRole role)
    {
        builder.AddModuleDbContext<DeliveryDbContext>(DeliveryDbContext.Schema);
        if (role == HostRole.Migrations)
        {
            return;
        }

        builder.Services.AddScoped<NotificationStore>();
        builder.Services.AddScoped<SendingStore>();
        builder.Services.AddScoped<DeadLetterStore>();
        builder.Services.AddScoped<ReceiptProcessor>();
        AddProviderConfiguration(builder);
        AddInApp(builder, role);
        // Both sides: the Worker writes tracked links into emails, the API answers them.
        builder.Services.AddSingleton<EmailTracking>();
        builder.Services.AddScoped<TrackingStore>();
        if (role == HostRole.Api)
        {
            builder.Services.AddSingleton<AcceptQueue>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<AcceptQueue>());
        }

        if (role == HostRole.Worker)
        {
            builder.Services.AddOutboxRelay<DeliveryDbContext>();
            builder.Services.Configure<PlanningOptions>(builder.Configuration.GetSection(PlanningOptions.Section));
            builder.Services.AddSingleton<PlanningThrottle>();
            builder.Services.AddSingleton<IIntegrationEventThrottle<NotificationRequestedIntegrationEvent>>(sp => sp.GetRequiredService<PlanningThrottle>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<PlanningThrottle>());
            // One quorum queue per priority, each with its own consumer, so a backlog of bulk sends never holds up critical ones.
            foreach (var priority in SendChecks.Priorities.Keys)
            {
                builder.Services.AddIntegrationEventHandler<DeliveryDbContext, NotificationRequestedIntegrationEvent, NotificationPlanner>(
                    $"{NotificationPlanner.Queue}.{priority}", $"{NotificationRequestedIntegrationEvent.EventType}.{priority}",
                    NotificationPlanner.Concurrency);
            }
            builder.Services.AddHostedService<QueueLagMonitor>();
            AddEmailSending(builder);
            AddProviderSending(builder);
            DeliveryJobs.Add(builder.Services);
        }
    }

    /// <summary>
    /// Provider accounts and adapters, in both hosts: the API manages the accounts, the Worker sends through them. Their
    /// credentials are encrypted with Data Protection keys kept in the database, so every replica reads what any of them wrote.
    /// </summary>
    private static void AddProviderConfiguration(IHostApplicationBuilder builder)
    {
        builder.Services.Configure<ProviderOptions>(builder.Configuration.GetSection(ProviderOptions.Section));
        builder.Services.AddSingleton<DatabaseKeyRepository>();
        builder.Services.AddDataProtection().SetApplicationName("Notify");
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp =>
            new ConfigureOptions<KeyManagementOptions>(o => o.XmlRepository = sp.GetRequiredService<DatabaseKeyRepository>()));
        builder.Services.AddSingleton<ProviderCredentials>();
        builder.Services.AddSingleton<ProviderHttp>();
        builder.Services.AddSingleton<ProviderDirectory>();
        builder.Services.AddSingleton<ProviderResilience>();
        builder.Services.AddSingleton<ProviderRateLimiter>();
        builder.Services.AddSingleton<ProviderChainSender>();
        builder.Services.AddSingleton<IChannelProvider, SinkProvider>();
        builder.Services.AddSingleton<IChannelProvider, TwilioSmsProvider>();
        builder.Services.AddSingleton<IChannelProvider, HttpSmsProvider>();
        builder.Services.AddSingleton<IChannelProvider, WebhookChannelProvider>();
        builder.Services.AddSingleton<IChannelProvider, FcmProvider>();
        builder.Services.AddSingleton<IChannelProvider, WebPushProvider>();
        builder.Services.AddSingleton<IChannelProvider, SendGridProvider>();
    }

    /// <summary>The SMS, push and webhook channels' sender (email providers are used by the email sender).</summary>
    private static void AddProviderSending(IHostApplicationBuilder builder) => builder.Services.AddHostedService<ProviderSender>();

    /// <summary>The in-app channel: the inbox and its live fan-out everywhere, the sender in the Worker (it needs no provider).</summary>
    private static void AddInApp(IHostApplicationBuilder builder, HostRole role)
    {
        builder.Services.TryAddSingleton<SignedTokens>();
        builder.Services.Configure<InboxOptions>(builder.Configuration.GetSection(InboxOptions.Section));
        builder.Services.AddSingleton<InboxTokens>();
        builder.Services.AddSingleton<InboxFanOut>();
        builder.Services.AddScoped<InboxStore>();
        if (role == HostRole.Worker)
        {
            builder.Services.Configure<InAppOptions>(builder.Configuration.GetSection(InAppOptions.Section));
            builder.Services.AddHostedService<InAppSender>();
        }
    }

    /// <summary>The email channel's sender, when the host has an SMTP server (<c>ConnectionStrings:smtp</c>).</summary>
    private static void AddEmailSending(IHostApplicationBuilder builder)
    {
        if (builder.Configuration.GetConnectionString("smtp") is not { Length: > 0 } smtp)
        {
            return;
        }

        builder.Services.Configure<EmailOptions>(builder.Configuration.GetSection(EmailOptions.Section));
        builder.Services.AddSingleton(SmtpServer.Parse(smtp));
        builder.Services.AddHostedService<EmailSender>();
    }

    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Database.MigrateAsync(cancellationToken);
    }
}
