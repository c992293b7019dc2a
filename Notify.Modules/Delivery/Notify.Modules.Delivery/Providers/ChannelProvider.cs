using System.Net;
using System.Text.Json;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Providers;

/// <summary>One provider adapter: sends one delivery's rendered message through a configured provider account.</summary>
internal interface IChannelProvider
{
    /// <summary>One of <see cref="ProviderKinds"/>.</summary>
    string Kind { get; }

    /// <summary>
    /// Sends the message and returns the provider's message id. <see cref="ProviderSend.BeforeEnd"/> must run right before
    /// the provider can have the message (an HTTP adapter sends its body through <see cref="HandoverContent"/>); when it
    /// says no, nothing may go out. Failures are <see cref="ProviderException"/>s saying whether to try again.
    /// </summary>
    Task<string> SendAsync(ProviderSend send, CancellationToken ct);
}

/// <summary>A provider account with its credentials decrypted, for the adapter.</summary>
internal sealed record ResolvedProvider(Provider Config, JsonElement Settings, IReadOnlyDictionary<string, string> Credentials)
{
    public string? Setting(string name) =>
        Settings.ValueKind == JsonValueKind.Object && Settings.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public string? Credential(string name) => Credentials.GetValueOrDefault(name);
}

/// <summary>One message to send through one provider; for email, with its one-click unsubscribe link when it has one.</summary>
internal sealed record ProviderSend(
    ResolvedProvider Provider, ClaimedDelivery Delivery, RenderedMessage Content, BeginHandOver BeforeEnd, Uri? Unsubscribe = null);

/// <summary>How a send failed, as the adapter classifies it.</summary>
internal enum ProviderFailure
{
    /// <summary>Try again (later, or through the next provider): 5xx, 429, timeouts and connection errors before the request went out whole.</summary>
    Transient,

    /// <summary>The request itself is wrong (credentials, settings): no provider-side retry helps this one.</summary>
    Permanent,

    /// <summary>The recipient's address is invalid or unreachable for good: no provider will do better.</summary>
    RecipientInvalid,
}

internal sealed class ProviderException(ProviderFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public ProviderFailure Failure { get; } = failure;
}

/// <summary>The request went out whole and then the answer was lost: the provider may have the message.</summary>
internal sealed class ProviderInDoubtException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// A request body whose last byte waits for the hand-over (<see cref="ProviderSend.BeforeEnd"/>): with its length declared,
/// no server acts on a request before it has every byte, so the hand-over is recorded right before the provider can act.
/// </summary>
internal sealed class HandoverContent : ByteArrayContent
{
    private readonly byte[] _body;
    private readonly BeginHandOver _beforeEnd;

    /// <param name="charset">The body's charset; null for binary bodies.</param>
    public HandoverContent(byte[] body, string mediaType, BeginHandOver beforeEnd, string? charset = "utf-8")
        : base(body)
    {
        if (body.Length == 0)
        {
            throw new ArgumentException("A hand-over needs at least one byte of body.", nameof(body));
        }

        _body = body;
        _beforeEnd = beforeEnd;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType) { CharSet = charset };
    }

    /// <summary>Whether the whole body went out: from then on the provider may have the message.</summary>
    public bool EndWritten { get; private set; }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_body.AsMemory(0, _body.Length - 1), cancellationToken);
        await stream.FlushAsync(cancellationToken);
        var handOver = await _beforeEnd(cancellationToken) ?? throw new HandoverRefusedException();
        // The COMMIT goes out first and the last byte right after; it is awaited once both are on their way.
        var committing = handOver.CommitAsync();
        try
        {
            await stream.WriteAsync(_body.AsMemory(_body.Length - 1), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            EndWritten = true;
        }
        finally
        {
            await committing;
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }
}
