using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Sending;

/// <summary>The SMTP server email goes to, from the <c>smtp</c> connection string (<c>smtp://host:port</c>).</summary>
internal sealed record SmtpServer(string Host, int Port)
{
    public static SmtpServer Parse(string connectionString)
    {
        var uri = new Uri(connectionString);
        return new SmtpServer(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 25 : uri.Port);
    }
}

/// <summary>
/// The Worker's email channel: claims due email deliveries in small batches, sends each over a reused SMTP
/// connection (reconnected after a failure; <see cref="EmailOptions.Connections"/> of them at once, each claiming its own batches), and records the outcome — sent with the Message-ID, rescheduled with
/// exponential backoff on a transient (4xx or connection) error, failed on a permanent (5xx) one.
/// </summary>
/// <remarks>
/// Delivery to the SMTP server is at least once, not exactly once. The claim (attempt counted, lease taken) commits
/// before the message is sent, and the outcome commits after. A Worker that crashes between the two leaves the
/// delivery <c>queued</c> with a lease; when the lease runs out another sender claims it and sends it again. If the
/// first send had reached the server, the recipient gets it twice — with the same Message-ID, which is derived from
/// the delivery id (<see cref="EmailMessageFactory.MessageIdOf"/>), so the receiving side can deduplicate.
/// </remarks>
internal sealed class EmailSender(
    IServiceScopeFactory scopes,
    IRecipientPreferences preferences,
    SmtpServer server,
    IOptions<EmailOptions> options,
    TimeProvider clock,
    ILogger<EmailSender> logger) : BackgroundService
{
    private readonly EmailOptions _options = options.Value;
    private readonly MailboxAddress _from = MailboxAddress.Parse(options.Value.From);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, _options.Connections)).Select(_ => Task.Run(() => SendOverOneConnectionAsync(stoppingToken), CancellationToken.None)));

    private async Task SendOverOneConnectionAsync(CancellationToken stoppingToken)
    {
        using var smtp = new SmtpClient();
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await SendDueAsync(smtp, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database was unreachable, say: claimed deliveries come back after their lease.
                logger.LogError(ex, "Sending email failed; trying again shortly");
            }

            if (claimed < _options.BatchSize)
            {
                try
                {
                    await Task.Delay(_options.PollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await DisconnectQuietlyAsync(smtp);
    }

    /// <summary>Claims one batch of due email deliveries and sends them; the number claimed.</summary>
    internal async Task<int> SendDueAsync(SmtpClient smtp, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<SendingStore>();
        var batch = await store.ClaimAsync(Channels.Email, _options.BatchSize, _options.Lease, ct);
        foreach (var delivery in batch)
        {
            using var activity = DeliveryTelemetry.StartSend("email send", delivery.Id, delivery.NotificationId, delivery.Channel, delivery.TraceParent);
            await SendAsync(smtp, store, delivery, ct);
        }

        return batch.Count;
    }

    private async Task SendAsync(SmtpClient smtp, SendingStore store, ClaimedDelivery delivery, CancellationToken ct)
    {
        var notification = await store.NotificationOfAsync(delivery, ct);
        var content = delivery.Content is null ? null : JsonSerializer.Deserialize<RenderedMessage>(delivery.Content, JsonSerializerOptions.Web);
        if (notification is null || content is null || string.IsNullOrWhiteSpace(delivery.Address))
        {
            await store.MarkFailedAsync(delivery, notification, "The delivery has no notification, content or address to send.", ct);
            return;
        }

        MimeMessage message;
        try
        {
            var unsubscribe = notification.UserId is { } userId && !MandatoryCategories.Contains(notification.Category)
                ? preferences.LinksFor(notification.TenantId, userId, notification.Category).Unsubscribe
                : null;
            message = EmailMessageFactory.Create(delivery.Id, _from, delivery.Address, content, unsubscribe);
        }
        catch (ParseException ex)
        {
            await store.MarkFailedAsync(delivery, notification, $"Invalid address '{delivery.Address}': {ex.Message}", ct);
            return;
        }

        try
        {
            await SendOverAsync(smtp, message, ct);
        }
        catch (SmtpCommandException ex) when ((int)ex.StatusCode >= 500)
        {
            logger.LogWarning("Email delivery {DeliveryId} was refused for good: {Status} {Error}", delivery.Id, (int)ex.StatusCode, ex.Message);
            await DisconnectQuietlyAsync(smtp);
            await store.MarkFailedAsync(delivery, notification, $"SMTP {(int)ex.StatusCode}: {ex.Message}", ct);
            return;
        }
        catch (Exception ex) when (ex is SmtpCommandException or SmtpProtocolException or IOException or ServiceNotConnectedException
            or SslHandshakeException or AuthenticationException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await DisconnectQuietlyAsync(smtp);
            var error = ex is SmtpCommandException command ? $"SMTP {(int)command.StatusCode}: {ex.Message}" : $"{ex.GetType().Name}: {ex.Message}";
            if (delivery.Attempts >= _options.MaxAttempts)
            {
                await store.MarkFailedAsync(delivery, notification, $"Gave up after {delivery.Attempts} attempts. Last error: {error}", ct);
                return;
            }

            var retryAt = clock.GetUtcNow() + Backoff(delivery.Attempts);
            logger.LogInformation("Email delivery {DeliveryId} failed transiently ({Error}); retrying at {RetryAt}", delivery.Id, error, retryAt);
            await store.RescheduleAsync(delivery, notification, retryAt, error, ct);
            return;
        }

        // The Message-ID is the provider message id: SMTP servers answer DATA with free text, not a stable id.
        await store.MarkSentAsync(delivery, notification, message.MessageId ?? EmailMessageFactory.MessageIdOf(delivery.Id, _from), ct);
    }

    /// <summary>
    /// Sends over the open connection, connecting first if needed. A reused connection the server has dropped while
    /// idle fails at once; that is retried once on a fresh connection rather than counted as a failed attempt.
    /// </summary>
    private async Task SendOverAsync(SmtpClient smtp, MimeMessage message, CancellationToken ct)
    {
        var reused = smtp.IsConnected;
        if (!reused)
        {
            await smtp.ConnectAsync(server.Host, server.Port, SecureSocketOptions.None, ct);
        }

        try
        {
            await smtp.SendAsync(message, ct);
        }
        catch (Exception ex) when (reused && ex is ServiceNotConnectedException or IOException or SmtpProtocolException)
        {
            await DisconnectQuietlyAsync(smtp);
            await smtp.ConnectAsync(server.Host, server.Port, SecureSocketOptions.None, ct);
            await smtp.SendAsync(message, ct);
        }
    }

    /// <summary>Exponential: the base after the first attempt, doubling per attempt, capped, with ±20% jitter so retries spread out.</summary>
    internal TimeSpan Backoff(int attempts)
    {
        var exponential = _options.BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempts - 1));
        var capped = Math.Min(exponential, _options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    private static async Task DisconnectQuietlyAsync(SmtpClient smtp)
    {
        if (!smtp.IsConnected)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await smtp.DisconnectAsync(true, timeout.Token);
        }
        catch (Exception)
        {
            // Already broken; the next send connects afresh.
        }
    }
}
