using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Dispatch;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Testing;
using Npgsql;

namespace Notify.Delivery.Tests;

/// <summary>The delivery schema and its store against real PostgreSQL, in a host that loads the modules Delivery calls.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class NotificationStoreTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private readonly Guid _tenant = Guid.CreateVersion7();
    private IHost _host = null!;
    private string _database = null!;

    public async Task InitializeAsync()
    {
        _database = await infrastructure.CreateDatabaseAsync("delivery");
        // The API side: no outbox relay or consumer runs, so nothing plans these tests' notifications behind their backs.
        _host = await infrastructure.StartModuleHostAsync(_database, HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task High_volume_tables_are_partitioned_by_month_with_this_and_the_next_months_created()
    {
        await using var scope = _host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
        var now = DateTime.UtcNow;
        foreach (var table in Partitions.Tables)
        {
            var strategy = await db.Database.SqlQuery<string>($"""
                SELECT pt.partstrat::text AS "Value" FROM pg_partitioned_table pt
                JOIN pg_class c ON c.oid = pt.partrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'delivery' AND c.relname = {table}
                """).SingleAsync();
            Assert.Equal("r", strategy); // range

            var partitions = await db.Database.SqlQuery<string>($"""
                SELECT c.relname AS "Value" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = ('delivery.' || {table})::regclass ORDER BY 1
                """).ToListAsync();
            var expected = Enumerable.Range(0, Partitions.MonthsAhead).Select(m => $"{table}_{now.AddMonths(m):yyyy_MM}").ToList();
            Assert.Equal(expected, partitions);
        }
    }

    [Theory]
    [InlineData(HostRole.Worker, true)]
    [InlineData(HostRole.Api, false)]
    public async Task A_statement_the_Worker_runs_again_and_again_over_partitions_is_planned_once_then_runs_its_generic_plan(HostRole role, bool generic)
    {
        // The data source of a host of that role, against this class's database (migrated by the host above).
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(infrastructure.HostSettings(_database));
        builder.AddNotifyModules(role);
        using var host = builder.Build();
        await using var connection = await host.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        var marker = $"plan-test-{role}";
        for (var i = 0; i < 12; i++)
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM delivery.notifications WHERE id = $1 AND created_at = $2 /* {marker} */", connection);
            command.Parameters.AddWithValue(Guid.CreateVersion7());
            command.Parameters.AddWithValue(DateTimeOffset.UtcNow);
            Assert.Equal(0L, await command.ExecuteScalarAsync());
        }

        // Prepared after a few runs (Npgsql's auto-prepare); from then on each run either is planned again (custom) or
        // reuses the generic plan, which prunes partitions when it runs.
        await using var plans = new NpgsqlCommand(
            $"SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%{marker} */'", connection);
        await using var reader = await plans.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "the statement was not prepared");
        var (genericPlans, customPlans) = (reader.GetInt64(0), reader.GetInt64(1));
        Assert.Equal(generic, genericPlans > 0);
        Assert.Equal(generic, customPlans == 0);
    }

    [Fact]
    public async Task Deliveries_and_notifications_partitions_leave_room_on_their_pages_also_those_the_partition_job_creates_later()
    {
        await using var scope = _host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
        try
        {
            // A month far ahead stands for a partition the scheduled job creates after the migration.
            await db.Database.ExecuteSqlRawAsync("SELECT delivery.create_monthly_partitions(date '2031-01-01', 1)");

            var options = await db.Database.SqlQuery<string>($"""
                SELECT c.relname || ' ' || coalesce(array_to_string(c.reloptions, ','), '') AS "Value"
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent IN ('delivery.deliveries'::regclass, 'delivery.notifications'::regclass) ORDER BY 1
                """).ToListAsync();

            Assert.Contains($"deliveries_2031_01 fillfactor={Partitions.DeliveriesFillFactor}", options);
            Assert.All(options.Where(o => o.StartsWith("deliveries_", StringComparison.Ordinal)), o => Assert.EndsWith($" fillfactor={Partitions.DeliveriesFillFactor}", o));
            Assert.Contains($"notifications_2031_01 fillfactor={Partitions.NotificationsFillFactor}", options);
            Assert.All(options.Where(o => o.StartsWith("notifications_", StringComparison.Ordinal)), o => Assert.EndsWith($" fillfactor={Partitions.NotificationsFillFactor}", o));
        }
        finally
        {
            await db.Database.ExecuteSqlRawAsync("DROP TABLE IF EXISTS delivery.deliveries_2031_01, delivery.notifications_2031_01, delivery.notification_events_2031_01, delivery.inbox_items_2031_01");
        }
    }

    [Fact]
    public async Task Accept_stores_the_notifications_their_accepted_events_and_requested_events_together()
    {
        var notifications = new[] { NewNotification(), NewNotification(NotificationStatus.Scheduled) };

        var outcome = await InScopeAsync(store => store.AcceptAsync(notifications, null, default));

        Assert.IsType<AcceptOutcome.Stored>(outcome);
        await InScopeAsync(async store =>
        {
            foreach (var n in notifications)
            {
                var (stored, _, events) = (await store.FindWithDetailsAsync(_tenant, n.Id, default))!;
                Assert.Equal(n.Status, stored.Status);
                Assert.Equal(n.Status == NotificationStatus.Scheduled ? TimelineEvents.Scheduled : TimelineEvents.Accepted, Assert.Single(events).Type);
            }

            // Routed by priority, so each priority has its own queue.
            var payloads = await store.Db.Set<OutboxMessage>().Where(m => m.Type == NotificationRequestedIntegrationEvent.EventType + ".normal")
                .Select(m => m.Payload).ToListAsync();
            var ids = payloads.Select(p => JsonSerializer.Deserialize<NotificationRequestedIntegrationEvent>(p, JsonSerializerOptions.Web)!.NotificationId);
            Assert.Equal(notifications.Select(n => n.Id).Order(), ids.Order());
            return 0;
        });
    }

    [Fact]
    public async Task A_send_without_a_key_is_stored_whole_or_not_at_all_though_it_has_no_transaction_of_its_own()
    {
        // The send's last row (an outbox row) collides with its first outbox row: its notification and timeline row,
        // written before that row in the same batch, must not stay behind.
        var notification = NewNotification();
        var rows = AcceptRows.Of([notification], TimeProvider.System);
        var last = rows.Outbox[^1];
        rows.Outbox[^1] = new OutboxMessage { Id = rows.Outbox[0].Id, Type = last.Type, TenantId = last.TenantId, OccurredAt = last.OccurredAt, Payload = last.Payload };
        var failure = await Assert.ThrowsAsync<PostgresException>(() => InScopeAsync(store => store.StoreAcceptedAsync([new AcceptedSend(rows, null)], default)));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, failure.SqlState);
        Assert.Null(await InScopeAsync(store => store.FindAsync(_tenant, notification.Id, default)));
        Assert.Equal(0, await InScopeAsync(store => store.Db.Events.CountAsync(e => e.NotificationId == notification.Id)));
    }

    [Fact]
    public async Task Twenty_concurrent_accepts_with_one_idempotency_key_store_one_set_and_the_rest_get_its_answer()
    {
        var attempts = Enumerable.Range(0, 20).Select(_ => NewNotification(idempotencyKey: "order-42")).ToList();

        var outcomes = await Task.WhenAll(attempts.Select(n => InScopeAsync(store =>
            store.AcceptAsync([n], store.NewIdempotencyRecord(_tenant, "order-42", "same-hash", 202, $$"""{"id":"{{n.Id}}"}"""), default))));

        Assert.Single(outcomes, o => o is AcceptOutcome.Stored);
        var winner = attempts[Array.FindIndex(outcomes, o => o is AcceptOutcome.Stored)];
        Assert.All(outcomes.OfType<AcceptOutcome.Replayed>(), r => Assert.Contains(winner.Id.ToString(), r.Record.Response, StringComparison.Ordinal));
        var stored = await InScopeAsync(store => store.Db.Notifications.CountAsync(n => n.TenantId == _tenant && n.IdempotencyKey == "order-42"));
        Assert.Equal(1, stored);
    }

    [Fact]
    public async Task A_group_of_sends_stores_those_that_claim_their_key_or_have_none_and_names_the_ones_that_lost_theirs()
    {
        var taken = NewNotification(idempotencyKey: "taken");
        await InScopeAsync(store => store.AcceptAsync([taken], store.NewIdempotencyRecord(_tenant, "taken", "h", 202, "{}"), default));
        var sends = new[] { NewNotification(idempotencyKey: "a"), NewNotification(idempotencyKey: "a"), NewNotification(), NewNotification(idempotencyKey: "taken") };

        var lost = await InScopeAsync(store => store.StoreAcceptedAsync(
            sends.Select(n => new AcceptedSend(AcceptRows.Of([n], TimeProvider.System),
                n.IdempotencyKey is { } key ? store.NewIdempotencyRecord(_tenant, key, "h", 202, $$"""{"id":"{{n.Id}}"}""") : null)).ToList(), default));

        // The second "a" lost to the first in the same group, the last to the send before the group.
        Assert.Equal([1, 3], lost.Order());
        var stored = await InScopeAsync(store => store.Db.Notifications.Where(n => n.TenantId == _tenant).Select(n => n.Id).ToListAsync());
        Assert.Equal(new[] { taken.Id, sends[0].Id, sends[2].Id }.Order(), stored.Order());
        var winnerOfA = await InScopeAsync(store => store.WinnerAsync(store.NewIdempotencyRecord(_tenant, "a", "h", 202, "{}"), default));
        Assert.Contains(sends[0].Id.ToString(), winnerOfA.Response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Statuses_only_move_forward_and_a_sent_notification_cannot_be_cancelled()
    {
        var n = NewNotification();
        await InScopeAsync(store => store.AcceptAsync([n], null, default));

        Assert.True(await InScopeAsync(store => store.AdvanceAsync(n, NotificationStatus.Sent, default)));
        Assert.False(await InScopeAsync(store => store.AdvanceAsync(n, NotificationStatus.Processing, default)));
        Assert.False(await InScopeAsync(store => store.CancelAsync(n, default)));

        var stored = await InScopeAsync(store => store.FindAsync(_tenant, n.Id, default));
        Assert.Equal(NotificationStatus.Sent, stored!.Status);
    }

    [Fact]
    public async Task Cancel_before_sending_cancels_its_deliveries_and_records_the_event()
    {
        var n = NewNotification();
        await InScopeAsync(store => store.AcceptAsync([n], null, default));
        await InScopeAsync(async store =>
        {
            store.Db.Deliveries.Add(new ChannelDelivery
            {
                Id = Guid.CreateVersion7(), TenantId = _tenant, NotificationId = n.Id, Channel = "email", Status = DeliveryStatus.Queued,
                Address = "ann@example.com", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
            });
            return await store.Db.SaveChangesAsync();
        });

        Assert.True(await InScopeAsync(store => store.CancelAsync(n, default)));

        await InScopeAsync(async store =>
        {
            var (stored, deliveries, events) = (await store.FindWithDetailsAsync(_tenant, n.Id, default))!;
            Assert.Equal(NotificationStatus.Cancelled, stored.Status);
            Assert.Equal(DeliveryStatus.Cancelled, Assert.Single(deliveries).Status);
            Assert.Equal([TimelineEvents.Accepted, TimelineEvents.Cancelled], events.Select(e => e.Type));
            Assert.True(await store.Db.Set<OutboxMessage>().AnyAsync(m => m.Type == NotificationCancelledIntegrationEvent.EventType));
            return 0;
        });
    }

    [Fact]
    public async Task Another_tenants_id_or_an_id_that_is_not_a_uuidv7_finds_nothing()
    {
        var n = NewNotification();
        await InScopeAsync(store => store.AcceptAsync([n], null, default));

        Assert.Null(await InScopeAsync(store => store.FindAsync(Guid.CreateVersion7(), n.Id, default)));
        Assert.Null(await InScopeAsync(store => store.FindAsync(_tenant, Guid.NewGuid(), default)));
        Assert.NotNull(await InScopeAsync(store => store.FindAsync(_tenant, n.Id, default)));
    }

    [Theory]
    [InlineData(NotificationStatus.Cancelled)]
    [InlineData(NotificationStatus.Processing)]
    public async Task The_planner_leaves_a_cancelled_or_already_planned_notification_alone(string status)
    {
        var n = NewNotification();
        await InScopeAsync(store => store.AcceptAsync([n], null, default));
        await InScopeAsync(store => status == NotificationStatus.Cancelled ? store.CancelAsync(n, default) : store.AdvanceAsync(n, status, default));

        await using (var scope = _host.Services.CreateAsyncScope())
        {
            var planner = ActivatorUtilities.CreateInstance<NotificationPlanner>(scope.ServiceProvider);
            await planner.HandleAsync(new NotificationRequestedIntegrationEvent(_tenant, n.Id, n.CreatedAt, n.Priority, null),
                new IntegrationEventContext(Guid.CreateVersion7(), NotificationRequestedIntegrationEvent.EventType, _tenant, DateTimeOffset.UtcNow), default);
            await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().SaveChangesAsync();
        }

        var (_, deliveries, events) = (await InScopeAsync(store => store.FindWithDetailsAsync(_tenant, n.Id, default)))!;
        Assert.Empty(deliveries);
        Assert.DoesNotContain(events, e => e.Type is TimelineEvents.Queued or TimelineEvents.ChannelSkipped or TimelineEvents.Skipped);
        Assert.Equal(status, (await InScopeAsync(store => store.FindAsync(_tenant, n.Id, default)))!.Status);
    }

    private async Task<T> InScopeAsync<T>(Func<NotificationStore, Task<T>> action)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<NotificationStore>());
    }

    private Notification NewNotification(string status = NotificationStatus.Accepted, string? idempotencyKey = null)
    {
        var (id, createdAt) = UuidV7.New(TimeProvider.System);
        return new Notification
        {
            Id = id,
            TenantId = _tenant,
            TemplateKey = "welcome",
            TemplateVersion = 1,
            Category = "transactional",
            Priority = "normal",
            UserId = "ann",
            Channels = ["email"],
            Status = status,
            ScheduledFor = status == NotificationStatus.Scheduled ? createdAt.AddHours(1) : null,
            ReleaseAt = status == NotificationStatus.Scheduled ? createdAt.AddHours(1) : null,
            IdempotencyKey = idempotencyKey,
            CreatedAt = createdAt,
            UpdatedAt = createdAt,
        };
    }
}
