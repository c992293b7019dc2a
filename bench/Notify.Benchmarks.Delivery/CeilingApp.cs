using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Notify.Benchmarks.Delivery;

/// <summary>What this machine can do at most: Kestrel answering 202 with no I/O, and one PostgreSQL insert per request.</summary>
internal sealed class CeilingApp(WebApplication app, string url) : IAsyncDisposable
{
    public string Url { get; } = url;

    public static async Task<CeilingApp> StartAsync(NpgsqlDataSource dataSource)
    {
        await using (var create = dataSource.CreateCommand(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id uuid PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/noop", () => Results.StatusCode(StatusCodes.Status202Accepted));
        app.MapPost("/insert", async (HttpContext context) =>
        {
            using var body = new StreamReader(context.Request.Body);
            var json = await body.ReadToEndAsync();
            await using var insert = dataSource.CreateCommand("INSERT INTO bench_ceiling (id, body, created_at) VALUES ($1, $2::jsonb, now())");
            insert.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
            insert.Parameters.Add(new NpgsqlParameter { Value = json });
            await insert.ExecuteNonQueryAsync();
            return Results.StatusCode(StatusCodes.Status202Accepted);
        });
        await app.StartAsync();
        return new CeilingApp(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
