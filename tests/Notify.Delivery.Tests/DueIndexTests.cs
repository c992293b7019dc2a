using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Testing;
using Npgsql;

namespace Notify.Delivery.Tests;

/// <summary>
/// How PostgreSQL plans the senders' statements on a system that was quiet for a while and then gets a burst: the due
/// index (queued deliveries only) was last counted by a VACUUM while the queue was empty, and a backlog came in since.
/// Its statistics then say it is empty, so walking it whole looks cheaper than any key lookup.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class DueIndexTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        var database = await infrastructure.CreateDatabaseAsync("dueindex");
        _host = await infrastructure.StartModuleHostAsync(database, HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
        await using var connection = await _host.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        // Yesterday's deliveries, all sent; counted while nothing was queued; then a backlog.
        await ExecuteAsync(connection, InsertDeliveriesSql("sent", 20_000));
        await ExecuteAsync(connection, "VACUUM ANALYZE delivery.deliveries");
        await ExecuteAsync(connection, InsertDeliveriesSql("queued", 2_000));
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Hand_overs_and_sent_marks_look_their_deliveries_up_by_key_rather_than_walk_the_whole_queue()
    {
        var handOver = await PlanAsync(HandoverGroup.MarkSql, new()
        {
            ["now"] = DateTimeOffset.UtcNow, ["ids"] = new[] { Guid.CreateVersion7() }, ["createdAts"] = new[] { DateTimeOffset.UtcNow },
            ["leasedUntils"] = new[] { DateTimeOffset.UtcNow },
        });
        var markSent = await PlanAsync(SendingStore.MarkSentSql, new()
        {
            ["now"] = DateTimeOffset.UtcNow, ["ids"] = new[] { Guid.CreateVersion7() }, ["createdAts"] = new[] { DateTimeOffset.UtcNow },
            ["messageIds"] = new[] { "<m@x>" }, ["sentAts"] = new[] { DateTimeOffset.UtcNow }, ["attempts"] = new[] { 1 },
            ["providerIds"] = new Guid?[] { null }, ["costs"] = new decimal?[] { null },
            ["notificationIds"] = new[] { Guid.CreateVersion7() }, ["notificationCreatedAts"] = new[] { DateTimeOffset.UtcNow },
            ["tenantIds"] = new[] { Guid.CreateVersion7() }, ["channels"] = new[] { "email" }, ["eventIds"] = new[] { Guid.CreateVersion7() },
            ["details"] = new[] { "<m@x>" }, ["outboxIds"] = new[] { Guid.CreateVersion7() }, ["outboxTypes"] = new[] { "webhook.event" },
            ["payloads"] = new[] { "{}" }, ["traceParents"] = new string?[] { null }, ["traceStates"] = new string?[] { null },
        });

        var dueIndexes = await DueIndexPartitionsAsync();
        Assert.All(new[] { handOver, markSent }, plan =>
        {
            Assert.DoesNotContain(dueIndexes, plan.Contains);
            Assert.Contains("_pkey", plan);
        });
    }

    [Fact]
    public async Task The_in_app_sender_walks_the_queue_once_to_claim_and_looks_what_it_claimed_up_by_key()
    {
        var plan = await PlanAsync(InAppSender.StoreSql[QueueScans.IndexOrder.Length..], new() { ["now"] = DateTimeOffset.UtcNow, ["batch"] = 500 },
            before: QueueScans.IndexOrder);

        // The backlog's partition: its due index once, for the claim; the update finds each claimed row by its key.
        var backlogDueIndex = Assert.Single(await DueIndexPartitionsAsync(
            "AND c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = (SELECT tableoid FROM delivery.deliveries LIMIT 1))"));
        Assert.Equal(2, plan.Split(backlogDueIndex).Length);
        Assert.Contains("_pkey", plan);
    }

    /// <summary>The plan PostgreSQL makes for <paramref name="sql"/> with these values, as text.</summary>
    private async Task<string> PlanAsync(string sql, Dictionary<string, object> parameters, string? before = null)
    {
        await using var connection = await _host.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (before is not null)
        {
            await ExecuteAsync(connection, before);
        }

        await using var command = new NpgsqlCommand("EXPLAIN " + sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }

    /// <summary>The due index's partitions (one per month's deliveries partition), by name; <paramref name="filter"/> narrows them.</summary>
    private async Task<List<string>> DueIndexPartitionsAsync(string filter = "")
    {
        await using var command = _host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            $"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'delivery.ix_deliveries_due'::regclass {filter}");
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        Assert.NotEmpty(names);
        return names;
    }

    private static string InsertDeliveriesSql(string status, int count) => $"""
        INSERT INTO delivery.deliveries (id, created_at, tenant_id, notification_id, channel, status, priority, address, attempts, updated_at)
        SELECT gen_random_uuid(), date_trunc('month', now()) + interval '1 day' + g * interval '1 ms', gen_random_uuid(), gen_random_uuid(), 'email', '{status}', 2,
            'ann@example.com', 1, now()
        FROM generate_series(1, {count}) g
        """;

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
