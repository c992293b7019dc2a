using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>The send span joins the trace the delivery was planned in; sent and accept→sent are recorded per channel.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class DeliveryTelemetryTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private readonly Guid _tenant = Guid.CreateVersion7();
    private readonly ScriptedSmtpServer _smtp = new();
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        var database = await infrastructure.CreateDatabaseAsync("telemetry");
        _host = await infrastructure.StartModuleHostAsync(database, HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _smtp.Dispose();
    }

    [Fact]
    public async Task An_email_send_is_a_span_in_the_planning_trace_and_counts_as_sent_with_its_accept_to_sent_time()
    {
        // The planner's span, as it would be stored on the delivery while the consumer handles the requested event.
        var planning = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        var traceParent = $"00-{planning.TraceId}-{planning.SpanId}-01";
        var acceptedAgo = TimeSpan.FromSeconds(5);
        var delivery = await QueuedEmailAsync(traceParent, acceptedAgo);

        var spans = new ConcurrentBag<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DeliveryTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(activities);
        var sent = new ConcurrentBag<(string Instrument, double Value, string? Channel)>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == DeliveryTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => sent.Add((instrument.Name, value, ChannelOf(tags))));
        meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => sent.Add((instrument.Name, value, ChannelOf(tags))));
        meters.Start();

        var options = Options.Create(new EmailOptions());
        var sender = ActivatorUtilities.CreateInstance<EmailSender>(_host.Services, new SmtpServer("127.0.0.1", _smtp.Port), options);
        using (var smtp = new SmtpClient())
        {
            Assert.Equal(1, await sender.SendDueAsync(smtp, default));
        }

        Assert.Single(_smtp.Messages);
        var span = Assert.Single(spans, s => s.GetTagItem("notify.delivery.id") as string == delivery.Id.ToString());
        Assert.Equal("email send", span.OperationName);
        Assert.Equal(planning.TraceId, span.TraceId);
        Assert.Equal(planning.SpanId, span.ParentSpanId);

        Assert.Contains(sent, m => m is { Instrument: "notify.delivery.sent", Value: 1, Channel: Channels.Email });
        var latency = Assert.Single(sent, m => m.Instrument == "notify.delivery.accept_to_sent");
        Assert.Equal(Channels.Email, latency.Channel);
        Assert.InRange(latency.Value, acceptedAgo.TotalSeconds, acceptedAgo.TotalSeconds + 60);
    }

    private static string? ChannelOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "channel")
            {
                return tag.Value as string;
            }
        }

        return null;
    }

    private async Task<ChannelDelivery> QueuedEmailAsync(string traceParent, TimeSpan acceptedAgo)
    {
        var (id, createdAt) = UuidV7.New(new ShiftedClock(-acceptedAgo));
        var notification = new Notification
        {
            Id = id, TenantId = _tenant, TemplateKey = "welcome", TemplateVersion = 1, Category = "transactional", Priority = "normal",
            UserId = "ann", Channels = ["email"], Status = NotificationStatus.Accepted, CreatedAt = createdAt, UpdatedAt = createdAt,
        };
        var delivery = new ChannelDelivery
        {
            Id = Guid.CreateVersion7(), TenantId = _tenant, NotificationId = id, Channel = Channels.Email, Status = DeliveryStatus.Queued,
            Address = "ann@example.com", CreatedAt = createdAt, UpdatedAt = createdAt, TraceParent = traceParent,
            Content = JsonSerializer.Serialize(new RenderedMessage(Channels.Email, "en", Subject: "Welcome", Html: "<p>Hi Ann</p>"), JsonSerializerOptions.Web),
        };
        await using var scope = _host.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<NotificationStore>();
        await store.AcceptAsync(_tenant, [notification], null, "h", 202, "{}", default);
        await store.AdvanceAsync(notification, NotificationStatus.Processing, default);
        store.Db.Deliveries.Add(delivery);
        await store.Db.SaveChangesAsync();
        return delivery;
    }

    private sealed class ShiftedClock(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}
