using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Notify.Webhooks.Tests;

/// <summary>One request a receiver got, as it arrived.</summary>
public sealed record ReceivedWebhook(string Hook, int Call, IHeaderDictionary Headers, string Body, DateTimeOffset At, int StatusCode);

/// <summary>
/// A real HTTP server on a free local port standing in for a client's system: each named hook
/// (<c>/hooks/{name}</c>) answers as the test tells it (status per call, optional delay) and records what it got.
/// </summary>
public sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<int, CancellationToken, Task<int>>> _behaviours = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly ConcurrentDictionary<string, string> _bodies = new();
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private Receiver(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<Receiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new Receiver(app);
        app.MapPost("/hooks/{name}", receiver.HandleAsync);
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return receiver;
    }

    public string Url(string hook) => $"{BaseUrl}/hooks/{hook}";

    /// <summary>How <paramref name="hook"/> answers its n-th call (1-based); 200 when not told.</summary>
    public void On(string hook, Func<int, CancellationToken, Task<int>> respond) => _behaviours[hook] = respond;

    public void On(string hook, Func<int, int> status) => On(hook, (n, _) => Task.FromResult(status(n)));

    /// <summary>What <paramref name="hook"/> writes in its response body (default: which hook and call it was).</summary>
    public void Answer(string hook, string body) => _bodies[hook] = body;

    /// <summary>Where a redirect status sends the client: another hook, which records any request that follows it.</summary>
    public string RedirectTarget => Url("redirect-target");

    public IReadOnlyList<ReceivedWebhook> Received(string hook) => _received.Where(r => r.Hook == hook).OrderBy(r => r.Call).ToList();

    private async Task HandleAsync(HttpContext context, string name)
    {
        var call = _calls.AddOrUpdate(name, 1, (_, n) => n + 1);
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var at = DateTimeOffset.UtcNow;
        var status = _behaviours.TryGetValue(name, out var respond) ? await respond(call, context.RequestAborted) : 200;
        _received.Enqueue(new ReceivedWebhook(name, call, new HeaderDictionary(context.Request.Headers.ToDictionary()), body, at, status));
        context.Response.StatusCode = status;
        if (status is >= 300 and < 400)
        {
            context.Response.Headers.Location = RedirectTarget;
        }

        await context.Response.WriteAsync(_bodies.TryGetValue(name, out var answer) ? answer : $"hook {name} call {call}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
