using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MailKit.Net.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>The email sender's claims and outcomes against real PostgreSQL and a scripted SMTP server that can refuse.</summary>
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
    public async Task A_transient_refusal_reschedules_with_backoff_and_the_retry_sends_it()
    {
        var (notification, delivery) = await QueuedEmailAsync();
        _smtp.RcptReply = "451 4.3.0 Try again later";

        Assert.Equal(1, await SendRoundAsync());

        var rescheduled = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Queued, rescheduled.Status);
        Assert.Equal(1, rescheduled.Attempts);
        Assert.Contains("451", rescheduled.LastError, StringComparison.Ordinal);
        Assert.Null(rescheduled.LeasedUntil);
        // Base backoff 10 minutes with ±20% jitter.
        Assert.InRange(rescheduled.DeliverAt!.Value, DateTimeOffset.UtcNow.AddMinutes(7), DateTimeOffset.UtcNow.AddMinutes(13));
        Assert.Contains(await EventsAsync(notification), e => e.Type == TimelineEvents.AttemptFailed && e.DeliveryId == delivery.Id);
        Assert.Equal(0, await SendRoundAsync()); // not due yet

        _smtp.RcptReply = "250 OK";
        await MakeDueAsync(delivery);
        Assert.Equal(1, await SendRoundAsync());

        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal(2, sent.Attempts);
        Assert.Null(sent.LastError);
        Assert.Single(_smtp.Messages);
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

        await using (var scope = _host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"UPDATE delivery.deliveries SET leased_until = now() - interval '1 second' WHERE id = {delivery.Id}");
        }

        Assert.Equal(1, await SendRoundAsync());

        var sent = await DeliveryAsync(delivery);
        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal(2, sent.Attempts);
        var raw = Assert.Single(_smtp.Messages);
        Assert.Contains($"Message-Id: <{delivery.Id:N}@localhost>", raw, StringComparison.OrdinalIgnoreCase);
        Assert.Equal($"{delivery.Id:N}@localhost", sent.ProviderMessageId);
        Assert.Equal(NotificationStatus.Sent, (await NotificationAsync(notification)).Status);
    }

    /// <summary>One round of the sender (claim a batch, send, record) over a fresh SMTP connection.</summary>
    private async Task<int> SendRoundAsync()
    {
        var options = Options.Create(new EmailOptions { BaseBackoff = TimeSpan.FromMinutes(10) });
        var sender = ActivatorUtilities.CreateInstance<EmailSender>(_host.Services, new SmtpServer("127.0.0.1", _smtp.Port), options);
        using var smtp = new SmtpClient();
        return await sender.SendDueAsync(smtp, default);
    }

    private async Task<(Notification Notification, ChannelDelivery Delivery)> QueuedEmailAsync()
    {
        var (id, createdAt) = UuidV7.New(TimeProvider.System);
        var notification = new Notification
        {
            Id = id, TenantId = _tenant, TemplateKey = "welcome", TemplateVersion = 1, Category = "transactional", Priority = "normal",
            UserId = "ann", Channels = ["email"], Status = NotificationStatus.Accepted, CreatedAt = createdAt, UpdatedAt = createdAt,
        };
        var delivery = new ChannelDelivery
        {
            Id = Guid.CreateVersion7(), TenantId = _tenant, NotificationId = id, Channel = Channels.Email, Status = DeliveryStatus.Queued,
            Address = "ann@example.com", CreatedAt = createdAt, UpdatedAt = createdAt,
            Content = JsonSerializer.Serialize(new RenderedMessage(Channels.Email, "en", Subject: "Welcome", Html: "<p>Hi Ann</p>"), JsonSerializerOptions.Web),
        };
        await using var scope = _host.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<NotificationStore>();
        await store.AcceptAsync(_tenant, [notification], null, "h", 202, "{}", default);
        await store.AdvanceAsync(notification, NotificationStatus.Processing, default);
        store.Db.Deliveries.Add(delivery);
        await store.Db.SaveChangesAsync();
        return (notification, delivery);
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

    private async Task<List<NotificationEvent>> EventsAsync(Notification notification)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Events.AsNoTracking()
            .Where(e => e.NotificationId == notification.Id).ToListAsync();
    }
}

/// <summary>A minimal SMTP server on loopback whose answer to RCPT TO a test sets, keeping the raw messages it accepts.</summary>
internal sealed class ScriptedSmtpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public ScriptedSmtpServer()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string RcptReply { get; set; } = "250 OK";

    public List<string> Messages { get; } = [];

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
        try
        {
            await writer.WriteLineAsync("220 scripted ESMTP");
            while (await reader.ReadLineAsync() is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO" or "HELO":
                        await writer.WriteLineAsync("250 scripted");
                        break;
                    case "RCPT":
                        await writer.WriteLineAsync(RcptReply);
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 Go ahead");
                        var message = new StringBuilder();
                        while (await reader.ReadLineAsync() is { } data && data != ".")
                        {
                            message.Append(data).Append("\r\n");
                        }

                        lock (Messages)
                        {
                            Messages.Add(message.ToString());
                        }

                        await writer.WriteLineAsync("250 Queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 Bye");
                        return;
                    default: // MAIL, RSET, NOOP
                        await writer.WriteLineAsync("250 OK");
                        break;
                }
            }
        }
        catch (IOException)
        {
            // The client went away.
        }
    }
}
