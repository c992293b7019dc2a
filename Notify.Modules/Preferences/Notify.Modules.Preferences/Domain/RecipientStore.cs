using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Preferences.Caching;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Features.Recipients;

namespace Notify.Modules.Preferences.Domain;

/// <summary>
/// Every change to a recipient (and to the tenant's defaults) goes through here: it takes a new revision, saves
/// (retrying when another writer got there first), and then refreshes the caches of every process. Endpoints and
/// recipient pages share it.
/// </summary>
internal sealed class RecipientStore(PreferencesDbContext db, PreferenceCache cache, TimeProvider clock)
{
    private const int Attempts = 5;

    public PreferencesDbContext Db => db;

    /// <summary>
    /// Applies <paramref name="change"/> to the recipient (creating it first when <paramref name="create"/> is set)
    /// and saves. Returns null when the recipient does not exist and is not to be created.
    /// </summary>
    public async Task<(Recipient Recipient, bool Created)?> ChangeAsync(
        Guid tenantId, string userId, bool create, Action<Recipient> change, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            db.ChangeTracker.Clear();
            var recipient = await db.Recipients.AsSplitQuery().Include(r => r.Devices).Include(r => r.Unsubscribes)
                .FirstOrDefaultAsync(r => r.TenantId == tenantId && r.UserId == userId, cancellationToken);
            var created = recipient is null;
            if (recipient is null)
            {
                if (!create)
                {
                    return null;
                }

                recipient = new Recipient { Id = Ids.New(clock), TenantId = tenantId, UserId = userId, CreatedAt = clock.GetUtcNow() };
                db.Recipients.Add(recipient);
            }

            change(recipient);
            recipient.Revision = await db.NextRevisionAsync(cancellationToken);
            recipient.UpdatedAt = clock.GetUtcNow();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException ex) when (attempt < Attempts && (ex is DbUpdateConcurrencyException || ex.IsUniqueViolation()))
            {
                continue; // another writer changed or created the same recipient: start again from what it saved
            }

            await cache.RecipientChangedAsync(tenantId, userId, cancellationToken);
            return (recipient, created);
        }
    }

    /// <summary>Replaces the tenant's defaults (creating the row on first use) and refreshes every cache.</summary>
    public async Task ReplaceDefaultsAsync(Guid tenantId, Features.TenantDefaults document, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            db.ChangeTracker.Clear();
            var row = await db.TenantDefaults.FirstOrDefaultAsync(d => d.TenantId == tenantId, cancellationToken);
            if (row is null)
            {
                row = new TenantDefaultsRow { TenantId = tenantId };
                db.TenantDefaults.Add(row);
            }

            row.Document = document;
            row.Revision = await db.NextRevisionAsync(cancellationToken);
            row.UpdatedAt = clock.GetUtcNow();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException ex) when (attempt < Attempts && (ex is DbUpdateConcurrencyException || ex.IsUniqueViolation()))
            {
                continue; // another writer saved (or created the row) first: replace what it saved
            }

            await cache.DefaultsChangedAsync(tenantId, cancellationToken);
            return;
        }
    }

    /// <summary>
    /// Creates or replaces the profiles of many recipients in one statement (their preferences, devices and
    /// unsubscribes stay), then refreshes the caches. User ids must be distinct.
    /// </summary>
    public async Task<IReadOnlyList<(string UserId, bool Created)>> UpsertProfilesAsync(
        Guid tenantId, IReadOnlyList<(string UserId, RecipientProfileFields Fields)> profiles, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var rows = await db.Database.SqlQuery<UpsertedRow>($"""
            INSERT INTO preferences.recipients
                (id, tenant_id, user_id, email, phone, locale, time_zone, webhook_url, properties, preferences, revision, created_at, updated_at)
            SELECT u.id, {tenantId}, u.user_id, u.email, u.phone, u.locale, u.time_zone, u.webhook_url, u.properties::jsonb, jsonb_build_object(),
                   nextval('preferences.revision_seq'), {now}, {now}
            FROM unnest({profiles.Select(_ => Ids.New(clock)).ToArray()}, {profiles.Select(p => p.UserId).ToArray()},
                        {profiles.Select(p => p.Fields.Email is null ? null : Addresses.Normalize(p.Fields.Email)).ToArray()},
                        {profiles.Select(p => p.Fields.Phone).ToArray()}, {profiles.Select(p => p.Fields.Locale).ToArray()},
                        {profiles.Select(p => p.Fields.TimeZone).ToArray()}, {profiles.Select(p => p.Fields.WebhookUrl).ToArray()},
                        {profiles.Select(p => p.Fields.Properties is { } json ? json.GetRawText() : null).ToArray()})
                 AS u(id, user_id, email, phone, locale, time_zone, webhook_url, properties)
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET
                email = excluded.email, phone = excluded.phone, locale = excluded.locale, time_zone = excluded.time_zone,
                webhook_url = excluded.webhook_url, properties = excluded.properties,
                revision = nextval('preferences.revision_seq'), updated_at = excluded.updated_at
            RETURNING user_id, (xmax = 0) AS created
            """).ToListAsync(cancellationToken);
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            (row, ct) => new ValueTask(cache.RecipientChangedAsync(tenantId, row.UserId, ct)));
        return rows.Select(r => (r.UserId, r.Created)).ToList();
    }

    /// <summary>Deletes the recipient with its devices and unsubscribes, and tells other modules to anonymize their history.</summary>
    public async Task<bool> EraseAsync(Guid tenantId, string userId, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var deleted = await db.Recipients.Where(r => r.TenantId == tenantId && r.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
        {
            return false;
        }

        db.AddIntegrationEvent(new RecipientErasedIntegrationEvent(tenantId, userId), tenantId, clock);
        await db.SaveChangesAsync(cancellationToken);
        var revision = await db.NextRevisionAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await cache.RecipientChangedAsync(tenantId, userId, cancellationToken, deletedRevision: revision);
        return true;
    }

    /// <summary>Adds the address to the suppression list (idempotent) and refreshes every recipient that has it.</summary>
    public async Task SuppressAsync(Guid tenantId, string address, string reason, CancellationToken cancellationToken)
    {
        var normalized = Addresses.Normalize(address);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO preferences.suppressions (id, tenant_id, address, reason, created_at)
            VALUES ({Ids.New(clock)}, {tenantId}, {normalized}, {reason}, {clock.GetUtcNow()})
            ON CONFLICT (tenant_id, address) DO NOTHING
            """, cancellationToken);
        await RefreshHoldersAsync(tenantId, normalized, cancellationToken);
    }

    public async Task<bool> UnsuppressAsync(Guid tenantId, string address, CancellationToken cancellationToken)
    {
        var normalized = Addresses.Normalize(address);
        var removed = await db.Suppressions.Where(s => s.TenantId == tenantId && s.Address == normalized).ExecuteDeleteAsync(cancellationToken);
        if (removed > 0)
        {
            await RefreshHoldersAsync(tenantId, normalized, cancellationToken);
        }

        return removed > 0;
    }

    private async Task RefreshHoldersAsync(Guid tenantId, string address, CancellationToken cancellationToken)
    {
        // A new revision for each recipient with the address, so every cache drops the old suppression state.
        var userIds = await db.Database.SqlQuery<string>($"""
            UPDATE preferences.recipients SET revision = nextval('preferences.revision_seq')
            WHERE tenant_id = {tenantId} AND (email = {address} OR phone = {address})
            RETURNING user_id AS "Value"
            """).ToListAsync(cancellationToken);
        foreach (var userId in userIds)
        {
            await cache.RecipientChangedAsync(tenantId, userId, cancellationToken);
        }
    }
}

internal sealed record UpsertedRow(string UserId, bool Created);

internal static class Addresses
{
    /// <summary>Email addresses compare case-insensitively in practice; phone numbers are E.164 already.</summary>
    public static string Normalize(string address) => address.Trim().ToLowerInvariant();
}
