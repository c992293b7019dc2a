using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Providers;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Delivery.Tracking;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Notify.Modules.Delivery.Sending;

/// <summary>
/// The Worker's email channel: claims due email deliveries in small batches, sends each over a reused SMTP connection
/// (reconnected after a failure; <see cref="EmailOptions.Connections"/> of them at once, each claiming its own batches),
/// and records the outcome — sent with the Message-ID; on a transient (4xx or connection) error a few quick in-process
/// retries (Polly), then rescheduled with exponential backoff; failed and parked as a dead letter on a permanent (5xx)
/// error or when the attempts run out.
/// </summary>
/// <remarks>
/// <para>
/// Neither lost nor sent twice when a Worker dies. An SMTP server keeps a message once it has the end of its data
/// (<c>CRLF.CRLF</c>), so writing that end is the line between "not sent" and "sent". The claim (attempt counted, lease
/// taken) commits before anything is sent. The <see cref="HandoverStream"/> holds the end back until the hand-over is
/// committed (<see cref="HandoverGroup"/>, together with the other connections' messages ending then), and the "sent"
/// outcomes of the server's 250s are recorded together once the claimed batch is through.
/// </para>
/// <para>
/// A Worker that dies before the hand-over commits leaves a queued delivery without one: the server never had the whole
/// message, and when the lease runs out another sender claims it and sends it. One that dies after it leaves a queued
/// delivery with a hand-over: the server has the message (or, had the Worker died between sending the mark's COMMIT and
/// the message's last write — two writes in a row — lost it), and the next claim records it sent, unconfirmed, without
/// sending it again.
/// The same goes for a connection lost after the end went out: the server may have the message, so it is not sent
/// again. The server's own work on the message (storing it, which takes long) is outside both windows.
/// </para>
/// </remarks>
internal sealed class EmailSender(
    IServiceScopeFactory scopes,
    IRecipientPreferences preferences,
    SmtpServer server,
    IOptions<EmailOptions> options,
    EmailTracking tracking,
    ProviderDirectory directory,
    ProviderChainSender chainSender,
    NpgsqlDataSource dataSource,
    TimeProvider clock,
    ILogger<EmailSender> logger) : BackgroundService
{
    private static readonly ResiliencePropertyKey<SendAttempt> AttemptKey = new("notify.email.attempt");
    private readonly EmailOptions _options = options.Value;

    /// <summary>The hand-overs of all this sender's connections, grouped.</summary>
    private readonly HandoverGroup _handovers = new(dataSource, clock);

    private readonly MailboxAddress _from = MailboxAddress.Parse(options.Value.From);
    private ResiliencePipeline? _retryPipeline;

    /// <summary>Short in-process retries of transient errors (Polly), before the long wait of a reschedule.</summary>
    private ResiliencePipeline Retry => _retryPipeline ??= BuildRetry();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, _options.Connections)).Select(_ => Task.Run(() => SendOverOneConnectionAsync(stoppingToken), CancellationToken.None)));
        await _handovers.DisposeAsync();
    }

    private async Task SendOverOneConnectionAsync(CancellationToken stoppingToken)
    {
        using var smtp = new SmtpConnection(server);
        await SenderLoop.RunAsync(ct => SendDueAsync(smtp, ct), _options.BatchSize, _options.PollInterval, clock, logger, "Sending email failed", stoppingToken);
        await smtp.DisconnectAsync();
    }

    /// <summary>Claims one batch of due email deliveries and sends them; the number claimed.</summary>
    internal async Task<int> SendDueAsync(SmtpConnection smtp, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<SendingStore>();
        var batch = await store.ClaimAsync(Channels.Email, _options.BatchSize, _options.Lease, ct);
        // One read for the batch's notifications rather than one per delivery.
        var notifications = await store.NotificationsOfAsync(batch, ct);
        // What the server took is recorded sent once for the batch (each was handed over first, so nothing is sent twice).
        var sent = new List<SentMessage>(batch.Count);
        try
        {
            foreach (var delivery in batch)
            {
                using var activity = DeliveryTelemetry.StartSend("email send", delivery.Id, delivery.NotificationId, delivery.Channel, delivery.TraceParent);
                await SendAsync(smtp, store, delivery, notifications.GetValueOrDefault(delivery.NotificationId), sent, ct);
            }
        }
        finally
        {
            // Not cancellable: the servers have these messages, so their outcome must be recorded.
            await store.MarkSentManyAsync(sent, CancellationToken.None);
        }

        return batch.Count;
    }

    private async Task SendAsync(
        SmtpConnection smtp, SendingStore store, ClaimedDelivery delivery, Notification? notification, List<SentMessage> sent, CancellationToken ct)
    {
        var content = delivery.Content is null ? null : JsonSerializer.Deserialize<RenderedMessage>(delivery.Content, JsonSerializerOptions.Web);
        if (notification is null || content is null || string.IsNullOrWhiteSpace(delivery.Address))
        {
            await store.MarkFailedAsync(delivery, notification, "The delivery has no notification, content or address to send.", ct);
            return;
        }

        if (delivery.HandedOverAt is { } handedOverAt)
        {
            // A sender died after letting the message go: the server has it, so it is not sent again.
            logger.LogWarning("Email delivery {DeliveryId} was handed over at {HandedOverAt} by a sender that stopped before recording the outcome; recording it sent", delivery.Id, handedOverAt);
            await store.MarkSentUnconfirmedAsync(delivery, notification, EmailMessageFactory.MessageIdOf(delivery.Id, _from),
                SendingStore.HandedOverByStoppedSender(handedOverAt, "the SMTP server or provider"), ct);
            return;
        }

        var unsubscribe = notification.UserId is { } userId && !MandatoryCategories.Contains(notification.Category)
            ? preferences.LinksFor(notification.TenantId, userId, notification.Category).Unsubscribe
            : null;
        // Rewritten per send, not at render time: the links carry this delivery's id, which rendering does not know yet.
        var tracked = content.Tracking && content.Html is { } html
            ? content with { Html = tracking.Apply(html, delivery.TenantId, delivery.Id, delivery.CreatedAt) }
            : content;

        // A tenant with email providers of its own (an HTTP email API) sends through them instead of the SMTP server.
        if (await directory.ConfiguredAsync(delivery.TenantId, Channels.Email, ct) is { Count: > 0 } providers)
        {
            await chainSender.SendAsync(store, delivery, notification, tracked, providers, unsubscribe, ct);
            return;
        }

        MimeMessage message;
        try
        {
            message = EmailMessageFactory.Create(delivery.Id, _from, delivery.Address, tracked, unsubscribe);
        }
        catch (ParseException ex)
        {
            await store.MarkFailedAsync(delivery, notification, $"Invalid address '{delivery.Address}': {ex.Message}", ct);
            return;
        }

        var attempt = new SendAttempt(store, delivery, notification, smtp, sent);
        var context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(AttemptKey, attempt);
        try
        {
            await Retry.ExecuteAsync(async c => await TrySendAsync(attempt, message, c.CancellationToken), context);
        }
        catch (HandoverRefusedException)
        {
            // Cancelled, or reclaimed by another sender after the lease ran out: not ours to send. The server never got
            // the end of the data, so it drops the message with the connection.
            logger.LogInformation("Email delivery {DeliveryId} is no longer this sender's; not sending it", delivery.Id);
            await smtp.DisconnectAsync();
        }
        catch (SmtpCommandException ex) when ((int)ex.StatusCode >= 500)
        {
            logger.LogWarning("Email delivery {DeliveryId} was refused for good: {Status} {Error}", delivery.Id, (int)ex.StatusCode, ex.Message);
            await smtp.DisconnectAsync();
            await store.MarkFailedAsync(attempt.Delivery, notification, ErrorOf(ex), ct);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // The in-process retries did not help: wait longer (the next attempt is stored in deliver_at), or give up.
            await smtp.DisconnectAsync();
            var error = ErrorOf(ex);
            if (attempt.Delivery.Attempts >= _options.MaxAttempts)
            {
                await store.MarkFailedAsync(attempt.Delivery, notification, $"Gave up after {attempt.Delivery.Attempts} attempts. Last error: {error}", ct);
                return;
            }

            var retryAt = clock.GetUtcNow() + Backoff(attempt.Delivery.Attempts);
            logger.LogInformation("Email delivery {DeliveryId} failed transiently ({Error}); retrying at {RetryAt}", delivery.Id, error, retryAt);
            await store.RescheduleAsync(attempt.Delivery, notification, retryAt, error, ct);
        }
        catch
        {
            // Anything else (the database failing the hand-over, say) may leave the server inside the message's data, where
            // the next message's commands would become part of it: that connection is done. The lease brings the delivery back.
            await smtp.DisconnectAsync();
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// One try: the message goes out with its hand-over recorded right before the end of its data, and "sent" is recorded on
    /// the server's 250. When the connection is lost after that byte went out, the server may have the message: it counts
    /// as sent (unconfirmed) rather than as a failure to try again.
    /// </summary>
    private async Task TrySendAsync(SendAttempt attempt, MimeMessage message, CancellationToken ct)
    {
        // The Message-ID is the provider message id: SMTP servers answer DATA with free text, not a stable id.
        var messageId = message.MessageId ?? EmailMessageFactory.MessageIdOf(attempt.Delivery.Id, _from);
        try
        {
            await attempt.Smtp.SendAsync(message, writeEnd => _handovers.HandOverAsync(attempt.Delivery, writeEnd), ct);
        }
        catch (Exception ex) when (attempt.Smtp.EndWritten && ex is not SmtpCommandException)
        {
            logger.LogWarning("Email delivery {DeliveryId}: the connection was lost after the message went out ({Error}); recording it sent", attempt.Delivery.Id, ErrorOf(ex));
            await attempt.Smtp.DisconnectAsync();
            await attempt.Store.MarkSentUnconfirmedAsync(attempt.Delivery, attempt.Notification, messageId,
                $"the connection was lost after the message went out, before the server answered: {ErrorOf(ex)}", CancellationToken.None);
            return;
        }

        // Stamped now, when the server took it, though recorded with the rest of the batch.
        attempt.Sent.Add(new SentMessage(attempt.Delivery, attempt.Notification, messageId, clock.GetUtcNow()));
    }

    /// <summary>A failed try the retry pipeline will try again: counted as an attempt with its own <c>attempt_failed</c> event.</summary>
    private async ValueTask OnRetryAsync(OnRetryArguments<object> args)
    {
        if (!args.Context.Properties.TryGetValue(AttemptKey, out var attempt) || args.Outcome.Exception is not { } ex)
        {
            return;
        }

        await attempt.Smtp.DisconnectAsync();
        logger.LogInformation("Email delivery {DeliveryId} failed transiently ({Error}); retrying in {Delay} ms",
            attempt.Delivery.Id, ErrorOf(ex), (int)args.RetryDelay.TotalMilliseconds);
        attempt.Delivery = await attempt.Store.RecordRetryAsync(attempt.Delivery, attempt.Notification, ErrorOf(ex), args.RetryDelay, args.Context.CancellationToken);
    }

    private ValueTask<bool> ShouldRetry(RetryPredicateArguments<object> args) => ValueTask.FromResult(
        args.Outcome.Exception is { } ex && IsTransient(ex)
        && args.Context.Properties.TryGetValue(AttemptKey, out var attempt) && attempt.Delivery.Attempts < _options.MaxAttempts);

    /// <summary>Connection trouble or a 4xx reply: worth trying again. A 5xx reply is permanent.</summary>
    private static bool IsTransient(Exception ex) => ex switch
    {
        SmtpCommandException command => (int)command.StatusCode < 500,
        SmtpProtocolException or IOException or ServiceNotConnectedException or SslHandshakeException or AuthenticationException
            or System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };

    private static string ErrorOf(Exception ex) =>
        ex is SmtpCommandException command ? $"SMTP {(int)command.StatusCode}: {ex.Message}" : $"{ex.GetType().Name}: {ex.Message}";

    private ResiliencePipeline BuildRetry()
    {
        if (_options.RetryAttempts <= 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.RetryAttempts,
                Delay = _options.RetryDelay,
                MaxDelay = _options.RetryMaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = ShouldRetry,
                OnRetry = OnRetryAsync,
            })
            .Build();
    }

    /// <summary>What one send carries through the retry pipeline; <see cref="Delivery"/> follows the attempts counted.</summary>
    private sealed class SendAttempt(SendingStore store, ClaimedDelivery delivery, Notification notification, SmtpConnection smtp, List<SentMessage> sent)
    {
        /// <summary>The batch's messages the server took, recorded sent together.</summary>
        public List<SentMessage> Sent { get; } = sent;

        public SendingStore Store { get; } = store;
        public ClaimedDelivery Delivery { get; set; } = delivery;
        public Notification Notification { get; } = notification;
        public SmtpConnection Smtp { get; } = smtp;
    }

    /// <summary>
    /// Exponential: the base after the first round of tries (one claim: the first try and its in-process retries), doubling
    /// per round, capped, with ±20% jitter so retries spread out.
    /// </summary>
    internal TimeSpan Backoff(int attempts)
    {
        var triesPerRound = Math.Max(0, _options.RetryAttempts) + 1;
        var rounds = (attempts + triesPerRound - 1) / triesPerRound;
        var exponential = _options.BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, rounds - 1));
        var capped = Math.Min(exponential, _options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }
}
