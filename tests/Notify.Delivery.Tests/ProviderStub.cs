using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Notify.Delivery.Tests;

/// <summary>One request a provider stand-in got; <see cref="At"/> is when it began.</summary>
internal sealed record StubRequest(string Method, string Path, IHeaderDictionary Headers, string Body, DateTimeOffset At, byte[] Bytes);

/// <summary>
/// A real HTTP server on a free local port standing in for a provider's API (the adapters are pointed at it by base
/// URL): it records every request and answers as the test says (status and body; 201 with an id by default).
/// </summary>
internal sealed class ProviderStub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<StubRequest> _received = new();

    private ProviderStub(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>The answer to a request; it may wait or throw to drop the connection.</summary>
    public Func<StubRequest, Task<(int Status, string Body)>> Respond { get; set; } =
        _ => Task.FromResult((201, $$"""{"sid":"SM{{Guid.NewGuid():N}}"}"""));

    public IReadOnlyList<StubRequest> Received => [.. _received.OrderBy(r => r.At)];

    /// <summary>Headers every answer carries (a provider's message id, say).</summary>
    public Dictionary<string, string> Headers { get; } = [];

    public static async Task<ProviderStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new ProviderStub(app);
        app.Run(stub.HandleAsync);
        await app.StartAsync();
        stub.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return stub;
    }

    public void Answer(int status, string body) => Respond = _ => Task.FromResult((status, body));

    private async Task HandleAsync(HttpContext context)
    {
        // When the request began (its headers are in); the body's end waits for the sender's hand-over.
        var at = DateTimeOffset.UtcNow;
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var bytes = buffer.ToArray();
        var request = new StubRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
            new HeaderDictionary(context.Request.Headers.ToDictionary()), System.Text.Encoding.UTF8.GetString(bytes), at, bytes);
        var (status, answer) = await Respond(request);
        _received.Enqueue(request);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in Headers)
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(answer);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
