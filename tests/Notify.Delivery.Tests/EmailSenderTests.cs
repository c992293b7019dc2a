using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;
using Npgsql;

namespace Notify.Delivery.Tests;

/// <summary>The email sender's claims, outcomes and telemetry against real PostgreSQL and a scripted SMTP server that can refuse.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class EmailSenderTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private readonly Guid _tenant = Guid.CreateVersion7();
    private readonly ScriptedSmtpServer _smtp = new();
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        var database = await infrastructure.CreateDatabaseAsync("email");
        // The API side: no sender runs in the background; each test drives one round of the sender itself.
        _host = await infrastructure.StartModuleHostAsync(database, HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _smtp.Dispose();
    }

    [Fact]
    public async Task A_refusal_for_a_while_is_retried_in_process_and_then_sent_with_every_try_counted()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.RefuseNext(2, "451 4.3.0 Try again later");

        Assert.Equal(1, await SendRoundAsync());

        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal(3, sent.Attempts);
        Assert.Null(sent.DeliverAt); // never rescheduled: the in-process retries were enough
        var events = await EventsAsync(notification);
        var failures = events.Where(e => e.Type == TimelineEvents.AttemptFailed).OrderBy(e => e.CreatedAt).Select(e => e.Detail!).ToList();
        Assert.Equal(2, failures.Count);
        Assert.StartsWith("Attempt 1 failed: SMTP 451", failures[0], StringComparison.Ordinal);
        Assert.StartsWith("Attempt 2 failed: SMTP 451", failures[1], StringComparison.Ordinal);
        Assert.All(failures, f => Assert.Contains("Retrying in", f, StringComparison.Ordinal));
        Assert.Single(_smtp.Messages);
        Assert.Equal(3, _smtp.RcptCount);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);
        Assert.Empty(await DeadLettersAsync());
    }

    [Fact]
    public async Task A_refusal_outlasting_the_in_process_retries_reschedules_with_backoff_and_the_next_round_sends_it()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.RcptReply = "451 4.3.0 Try again later";

        Assert.Equal(1, await SendRoundAsync());

        var rescheduled = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Queued, rescheduled.Status);
        Assert.Equal(3, rescheduled.Attempts);
        Assert.Contains("451", rescheduled.LastError, StringComparison.Ordinal);
        Assert.Null(rescheduled.LeasedUntil);
        // First round over: base backoff 10 minutes with ±20% jitter.
        Assert.InRange(rescheduled.DeliverAt!.Value, DateTimeOffset.UtcNow.AddMinutes(7), DateTimeOffset.UtcNow.AddMinutes(13));
        var failures = (await EventsAsync(notification)).Where(e => e.Type == TimelineEvents.AttemptFailed && e.DeliveryId == delivery.Id).ToList();
        Assert.Equal(3, failures.Count);
        Assert.Single(failures, f => f.Detail!.StartsWith("Attempt 3 failed", StringComparison.Ordinal) && f.Detail.Contains("Next attempt at", StringComparison.Ordinal));
        Assert.Equal(0, await SendRoundAsync()); // not due yet

        _smtp.RcptReply = "250 OK";
        await MakeDueAsync(delivery);
        Assert.Equal(1, await SendRoundAsync());

        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal(4, sent.Attempts);
        Assert.Null(sent.LastError);
        Assert.Single(_smtp.Messages);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);
    }

    [Fact]
    public async Task Attempts_running_out_fail_the_delivery_and_park_it_as_a_dead_letter_with_its_history()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.RcptReply = "421 4.7.0 Busy";

        Assert.Equal(1, await SendRoundAsync(new EmailOptions { MaxAttempts = 3, RetryAttempts = 5, RetryDelay = TimeSpan.FromMilliseconds(10) }));

        var failed = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Failed, failed.Status);
        Assert.Equal(3, failed.Attempts);
        Assert.Equal(3, _smtp.RcptCount); // MaxAttempts stops the in-process retries too
        Assert.StartsWith("Gave up after 3 attempts", failed.LastError, StringComparison.Ordinal);
        var dead = Assert.Single(await DeadLettersAsync());
        Assert.Equal((delivery.Id, notification.Id, DeadLetterStatus.Open, 3), (dead.DeliveryId, dead.NotificationId, dead.Status, dead.Attempts));
        Assert.Equal(delivery.CreatedAt, dead.DeliveryCreatedAt);
        Assert.Contains("421", dead.Error, StringComparison.Ordinal);
        var history = JsonDocument.Parse(dead.History).RootElement.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal([TimelineEvents.AttemptFailed, TimelineEvents.AttemptFailed, TimelineEvents.Failed], history);
        Assert.Equal(NotificationStatus.Failed, (await NotificationAsync(notification)).Status);
    }

    [Fact]
    public async Task A_connection_lost_after_the_message_went_out_records_it_sent_unconfirmed_and_never_sends_it_again()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.DropAfterData = true;

        Assert.Equal(1, await SendRoundAsync(new EmailOptions { BaseBackoff = TimeSpan.FromMinutes(10), RetryAttempts = 0 }));

        // The server has the message but never said so. It went out whole, so it counts as sent, flagged unconfirmed.
        Assert.Single(_smtp.Messages);
        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal($"{delivery.Id:N}@localhost", sent.ProviderMessageId);
        Assert.NotNull(sent.HandedOverAt);
        var sentEvent = Assert.Single(await EventsAsync(notification), e => e.Type == TimelineEvents.Sent);
        Assert.Contains("unconfirmed: the connection was lost after the message went out", sentEvent.Detail, StringComparison.Ordinal);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);

        await ExpireLeaseAsync(delivery);
        _smtp.Reset();
        Assert.Equal(0, await SendRoundAsync());
        Assert.Single(_smtp.Messages);
    }

    [Fact]
    public async Task A_delivery_handed_over_by_a_sender_that_died_is_recorded_sent_by_the_next_claim_without_sending_it_again()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        // A sender that claimed it, committed the hand-over, wrote the last byte and died before recording the answer.
        await using (var scope = _host.Services.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<SendingStore>();
            var claimed = Assert.Single(await store.ClaimAsync(Channels.Email, 10, TimeSpan.FromMinutes(2), default));
            Assert.True(await store.MarkHandedOverAsync(claimed, default));
        }

        Assert.Equal(0, await SendRoundAsync()); // still leased
        await ExpireLeaseAsync(delivery);
        Assert.Equal(1, await SendRoundAsync());

        Assert.Empty(_smtp.Messages);
        Assert.Equal(0, _smtp.RcptCount);
        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal($"{delivery.Id:N}@localhost", sent.ProviderMessageId);
        var sentEvent = Assert.Single(await EventsAsync(notification), e => e.Type == TimelineEvents.Sent);
        Assert.Contains("unconfirmed: handed to the SMTP server", sentEvent.Detail, StringComparison.Ordinal);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);
    }

    [Fact]
    public async Task A_delivery_in_one_hand_over_group_for_both_its_lost_and_its_new_claim_is_handed_over_for_the_new_claim_only()
    {
        var (_, delivery) = await QueuedEmailAsync();
        await using var scope = _host.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<SendingStore>();
        // A slow sender's lease runs out; another sender claims the delivery again; both reach the end of the message together.
        var lost = Assert.Single(await store.ClaimAsync(Channels.Email, 10, TimeSpan.FromMinutes(2), default));
        await ExpireLeaseAsync(delivery);
        var current = Assert.Single(await store.ClaimAsync(Channels.Email, 10, TimeSpan.FromMinutes(2), default));
        Assert.NotEqual(lost.LeasedUntil, current.LeasedUntil);
        var endsWritten = new List<string>();
        var lostRequest = new HandoverGroup.Request(lost, () => endsWritten.Add("lost"));
        var currentRequest = new HandoverGroup.Request(current, () => endsWritten.Add("current"));

        await new HandoverGroup(_host.Services.GetRequiredService<NpgsqlDataSource>(), TimeProvider.System)
            .HandOverInTurnAsync([lostRequest, currentRequest]);

        Assert.False(await lostRequest.Done.Task);
        Assert.True(await currentRequest.Done.Task);
        Assert.Equal(["current"], endsWritten);
        Assert.NotNull((await DeliveryAsync(delivery)).HandedOverAt);
    }

    [Fact]
    public async Task A_group_committed_in_one_batch_with_the_next_groups_mark_is_handed_over_before_the_next_and_both_are_kept()
    {
        var (_, first) = await QueuedEmailAsync();
        var (_, second) = await QueuedEmailAsync();
        await using var scope = _host.Services.CreateAsyncScope();
        var claimed = await scope.ServiceProvider.GetRequiredService<SendingStore>().ClaimAsync(Channels.Email, 10, TimeSpan.FromMinutes(2), default);
        var dataSource = _host.Services.GetRequiredService<NpgsqlDataSource>();
        var endsWritten = new List<string>();
        object? firstMarkWhenSecondEnds = null;
        var firstRequest = new HandoverGroup.Request(claimed.Single(d => d.Id == first.Id), () => endsWritten.Add("first"));
        var secondRequest = new HandoverGroup.Request(claimed.Single(d => d.Id == second.Id), () =>
        {
            endsWritten.Add("second");
            // On another connection, synchronously (this runs between two writes): the first group's COMMIT went through.
            using var command = dataSource.CreateCommand($"SELECT handed_over_at FROM delivery.deliveries WHERE id = '{first.Id}'");
            firstMarkWhenSecondEnds = command.ExecuteScalar();
        });

        // The first group's COMMIT goes in one batch with the BEGIN and mark of the second; the second commits alone.
        await new HandoverGroup(dataSource, TimeProvider.System).HandOverInTurnAsync([firstRequest], [secondRequest]);

        Assert.True(await firstRequest.Done.Task);
        Assert.True(await secondRequest.Done.Task);
        Assert.Equal(["first", "second"], endsWritten);
        Assert.IsType<DateTime>(firstMarkWhenSecondEnds);
        Assert.NotNull((await DeliveryAsync(second)).HandedOverAt);
    }

    [Fact]
    public async Task A_notification_cancelled_while_its_email_is_being_sent_never_reaches_the_server()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        // The cancel lands after the claim, while the sender is in the middle of the SMTP transaction.
        var cancelled = false;
        _smtp.OnData = async () =>
        {
            await using var scope = _host.Services.CreateAsyncScope();
            cancelled = await scope.ServiceProvider.GetRequiredService<NotificationStore>().CancelAsync(notification, default);
        };

        Assert.Equal(1, await SendRoundAsync());

        Assert.True(cancelled);
        Assert.Empty(_smtp.Messages); // the data was never finished, so the server dropped it
        var stored = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Cancelled, stored.Status);
        Assert.Null(stored.HandedOverAt);
        Assert.DoesNotContain(await EventsAsync(notification), e => e.Type == TimelineEvents.Sent);
        Assert.Equal(NotificationStatus.Cancelled, (await NotificationAsync(notification)).Status);
    }

    [Fact]
    public async Task A_notification_whose_email_was_handed_over_can_no_longer_be_cancelled()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        await using var scope = _host.Services.CreateAsyncScope();
        var sending = scope.ServiceProvider.GetRequiredService<SendingStore>();
        Assert.True(await sending.MarkHandedOverAsync(Assert.Single(await sending.ClaimAsync(Channels.Email, 10, TimeSpan.FromMinutes(2), default)), default));

        Assert.False(await scope.ServiceProvider.GetRequiredService<NotificationStore>().CancelAsync(notification, default));

        Assert.Equal(DeliveryStatus.Queued, (await DeliveryAsync(delivery)).Status);
        Assert.Equal(NotificationStatus.Processing, (await NotificationAsync(notification)).Status);
        Assert.DoesNotContain(await EventsAsync(notification), e => e.Type == TimelineEvents.Cancelled);
    }

    [Fact]
    public async Task A_refusal_of_the_data_itself_is_not_a_hand_over_and_the_message_is_sent_on_the_next_try()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.DataReply = "451 4.3.0 Try again later";

        Assert.Equal(1, await SendRoundAsync(new EmailOptions { BaseBackoff = TimeSpan.FromMinutes(10), RetryAttempts = 0 }));

        var queued = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Queued, queued.Status);
        Assert.Null(queued.HandedOverAt); // refused in so many words: the server does not have it
        Assert.Contains("451", queued.LastError, StringComparison.Ordinal);
        Assert.Empty(_smtp.Messages);

        _smtp.Reset();
        await MakeDueAsync(delivery);
        Assert.Equal(1, await SendRoundAsync());
        Assert.Single(_smtp.Messages);
        Assert.Equal(DeliveryStatus.Sent, (await DeliveryAsync(delivery)).Status);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);
    }

    [Fact]
    public async Task A_permanent_refusal_fails_the_delivery_and_the_notification_with_the_error()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.RcptReply = "550 5.1.1 No such user";

        Assert.Equal(1, await SendRoundAsync());

        var failed = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Failed, failed.Status);
        Assert.Contains("550", failed.LastError, StringComparison.Ordinal);
        var failedEvent = Assert.Single(await EventsAsync(notification), e => e.Type == TimelineEvents.Failed);
        Assert.Contains("No such user", failedEvent.Detail, StringComparison.Ordinal);
        Assert.Equal(NotificationStatus.Failed, (await NotificationAsync(notification)).Status);
        Assert.Empty(_smtp.Messages);
        Assert.Equal(1, _smtp.RcptCount); // permanent: no in-process retry

        // Parked in the same transaction as the failure, with the attempt history.
        var dead = Assert.Single(await DeadLettersAsync());
        Assert.Equal((delivery.Id, DeadLetterStatus.Open, 1, "ann@example.com"), (dead.DeliveryId, dead.Status, dead.Attempts, dead.Address));
        Assert.Contains("550", dead.Error, StringComparison.Ordinal);
        var last = JsonDocument.Parse(dead.History).RootElement.EnumerateArray().Last();
        Assert.Equal(TimelineEvents.Failed, last.GetProperty("type").GetString());
        Assert.Contains("No such user", last.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delivery_claimed_by_a_crashed_sender_comes_back_after_its_lease_with_the_same_message_id()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        // A sender that claimed it and died before sending: the claim committed, nothing went out.
        await using (var scope = _host.Services.CreateAsyncScope())
        {
            var claimed = await scope.ServiceProvider.GetRequiredService<SendingStore>().ClaimAsync(Channels.Email, 10, TimeSpan.FromMinutes(2), default);
            Assert.Equal(delivery.Id, Assert.Single(claimed).Id);
        }

        Assert.Equal(0, await SendRoundAsync()); // still leased

        await ExpireLeaseAsync(delivery);
        Assert.Equal(1, await SendRoundAsync());

        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal(2, sent.Attempts);
        var raw = Assert.Single(_smtp.Messages);
        Assert.Contains($"Message-Id: <{delivery.Id:N}@localhost>", raw, StringComparison.OrdinalIgnoreCase);
        Assert.Equal($"{delivery.Id:N}@localhost", sent.ProviderMessageId);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);
    }

    /// <summary>A batch's outcomes are recorded together, but each message is sent when its server took it.</summary>
    [Fact]
    public async Task Each_email_of_a_batch_is_sent_when_its_server_took_it_not_when_the_batch_was_recorded()
    {
        var (first, firstDelivery) = await QueuedEmailAsync();
        var (second, secondDelivery) = await QueuedEmailAsync();
        var messages = 0;
        // The server keeps the second message waiting a second before it takes it.
        _smtp.OnData = async () =>
        {
            if (Interlocked.Increment(ref messages) == 2)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        };

        Assert.Equal(2, await SendRoundAsync());

        var (a, b) = (await DeliveryAsync(firstDelivery), await DeliveryAsync(secondDelivery));
        Assert.Equal([DeliveryStatus.Sent, DeliveryStatus.Sent], [a.Status, b.Status]);
        Assert.InRange(Math.Abs((b.UpdatedAt - a.UpdatedAt).TotalSeconds), 0.9, 30);
        foreach (var (notification, delivery) in new[] { (first, a), (second, b) })
        {
            Assert.Equal(delivery.UpdatedAt, Assert.Single(await EventsAsync(notification), e => e.Type == TimelineEvents.Sent).CreatedAt);
        }
    }

    /// <summary>The send span joins the trace the delivery was planned in; sent and accept→sent are recorded per channel.</summary>
    [Fact]
    public async Task An_email_send_is_a_span_in_the_planning_trace_and_counts_as_sent_with_its_accept_to_sent_time()
    {
        // The planner's span, as it would be stored on the delivery while the consumer handles the requested event.
        var planning = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        var traceParent = $"00-{planning.TraceId}-{planning.SpanId}-01";
        var acceptedAgo = TimeSpan.FromSeconds(5);
        var (_, delivery) = await QueuedEmailAsync(traceParent, acceptedAgo);

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

        Assert.Equal(1, await SendRoundAsync());

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

    /// <summary>One round of the sender (claim a batch, send, record) over a fresh SMTP connection.</summary>
    private async Task<int> SendRoundAsync(EmailOptions? settings = null)
    {
        var options = Options.Create(settings ?? new EmailOptions { BaseBackoff = TimeSpan.FromMinutes(10), RetryDelay = TimeSpan.FromMilliseconds(10) });
        var server = new SmtpServer("127.0.0.1", _smtp.Port);
        var sender = ActivatorUtilities.CreateInstance<EmailSender>(_host.Services, server, options);
        using var smtp = new SmtpConnection(server);
        return await sender.SendDueAsync(smtp, default);
    }

    private Task<(Notification Notification, ChannelDelivery Delivery)> QueuedEmailAsync(string? traceParent = null, TimeSpan acceptedAgo = default) =>
        QueuedEmails.AddAsync(_host.Services, _tenant, acceptedAgo, traceParent);

    /// <summary>As if the sender holding the delivery had died: its lease runs out.</summary>
    private async Task ExpireLeaseAsync(ChannelDelivery delivery)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Database.ExecuteSqlInterpolatedAsync(
            $"UPDATE delivery.deliveries SET leased_until = now() - interval '1 second' WHERE id = {delivery.Id}");
    }

    private async Task MakeDueAsync(ChannelDelivery delivery)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Database.ExecuteSqlInterpolatedAsync(
            $"UPDATE delivery.deliveries SET deliver_at = now() - interval '1 second' WHERE id = {delivery.Id}");
    }

    private async Task<ChannelDelivery> DeliveryAsync(ChannelDelivery delivery)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Deliveries.AsNoTracking().SingleAsync(d => d.Id == delivery.Id);
    }

    private async Task<Notification> NotificationAsync(Notification notification)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<NotificationStore>().FindAsync(_tenant, notification.Id, default))!;
    }

    private async Task<List<DeadLetter>> DeadLettersAsync()
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().DeadLetters.AsNoTracking().Where(d => d.TenantId == _tenant).ToListAsync();
    }

    private async Task<List<NotificationEvent>> EventsAsync(Notification notification)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Events.AsNoTracking()
            .Where(e => e.NotificationId == notification.Id).ToListAsync();
    }
}
