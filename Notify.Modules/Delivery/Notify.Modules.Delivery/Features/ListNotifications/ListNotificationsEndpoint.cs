using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;

namespace Notify.Modules.Delivery.Features.ListNotifications;

/// <summary><c>GET /v1/notifications</c>: filters, all optional; newest first.</summary>
public sealed record ListNotificationsRequest : PagedRequest
{
    /// <summary>Only notifications in this status (accepted, scheduled, processing, sent, delivered, skipped, failed, cancelled).</summary>
    [QueryParam] public string? Status { get; init; }

    /// <summary>Only sends of this template key.</summary>
    [QueryParam] public string? Template { get; init; }

    /// <summary>Created at or after (ISO 8601).</summary>
    [QueryParam] public DateTimeOffset? From { get; init; }

    /// <summary>Created before (ISO 8601).</summary>
    [QueryParam] public DateTimeOffset? To { get; init; }

    /// <summary>A JSON object the notification's metadata contains, e.g. <c>{"orderId":"42"}</c>.</summary>
    [QueryParam] public string? Metadata { get; init; }
}

/// <summary><c>GET /v1/users/{userId}/notifications</c>: one recipient's notifications, newest first.</summary>
public sealed record ListUserNotificationsRequest : PagedRequest
{
    public string UserId { get; init; } = "";
}

/// <summary>A notification in a list (without data, deliveries and timeline: <c>GET /v1/notifications/{id}</c> has them).</summary>
public sealed record NotificationSummary(
    Guid Id, string Status, string TemplateKey, int TemplateVersion, string Category, string Priority, string? UserId,
    IReadOnlyList<string> Channels, JsonElement? Metadata, DateTimeOffset? ScheduledFor, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static NotificationSummary From(Notification n) => new(
        n.Id, n.Status, n.TemplateKey, n.TemplateVersion, n.Category, n.Priority, n.UserId, n.Channels, n.Metadata?.RootElement.Clone(),
        n.ScheduledFor, n.CreatedAt, n.UpdatedAt);
}

internal sealed class ListNotificationsValidator : Validator<ListNotificationsRequest>
{
    public ListNotificationsValidator()
    {
        this.AddPagingRules();
        RuleFor(x => x.Status).Must(s => s is null || NotificationStatus.Ranks.ContainsKey(s))
            .WithMessage(x => $"status '{x.Status}' is not one of {string.Join(", ", NotificationStatus.Ranks.Keys)}.");
        RuleFor(x => x.Template).MaximumLength(100);
        RuleFor(x => x.To).Must((x, to) => x.From is null || to is null || x.From < to).WithMessage("to must be later than from.");
        RuleFor(x => x.Metadata).Must(m => m is null || NotificationLists.ParseMetadata(m) is not null)
            .WithMessage("metadata is a JSON object to match, e.g. {\"orderId\":\"42\"} (URL-encoded).");
    }
}

internal sealed class ListUserNotificationsValidator : Validator<ListUserNotificationsRequest>
{
    public ListUserNotificationsValidator()
    {
        this.AddPagingRules();
        RuleFor(x => x.UserId).NotEmpty().MaximumLength(200);
    }
}

internal static class NotificationLists
{
    /// <summary>The metadata filter as compact JSON, or null when it is not a JSON object.</summary>
    public static string? ParseMetadata(string metadata)
    {
        try
        {
            using var document = JsonDocument.Parse(metadata);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.GetRawText() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Newest first by (created_at, id); the cursor is the last id, whose UUIDv7 carries its created_at, so the next
    /// page also bounds created_at and PostgreSQL skips the monthly partitions that cannot hold it.
    /// </summary>
    public static async Task<CursorPage<NotificationSummary>> PageAsync(IQueryable<Notification> query, PagedRequest req, CancellationToken ct)
    {
        if (Cursor.TryDecode(req.Cursor, out var after) && UuidV7.CreatedAt(after) is { } at)
        {
            query = query.Where(n => n.CreatedAt < at || (n.CreatedAt == at && n.Id < after));
        }

        var rows = await query.OrderByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id).Take(req.Limit + 1).ToListAsync(ct);
        return Cursor.ToPage(rows, req.Limit, n => n.Id, NotificationSummary.From);
    }
}

internal sealed class ListNotificationsEndpoint(DeliveryDbContext db, ITenantContext tenant)
    : Endpoint<ListNotificationsRequest, CursorPage<NotificationSummary>>
{
    public override void Configure()
    {
        Get("/v1/notifications");
        Permissions(ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Notifications"));
        Summary(s =>
        {
            s.Summary = "List notifications, newest first";
            s.Description = "Filters: status, template (key), from/to (created_at, ISO 8601; a bounded range reads only its months), metadata " +
                "(a JSON object the notification's metadata contains). Cursor-paginated: pass nextCursor back as cursor.";
        });
    }

    public override async Task HandleAsync(ListNotificationsRequest req, CancellationToken ct)
    {
        var query = db.Notifications.AsNoTracking().Where(n => n.TenantId == tenant.TenantId);
        if (req.Status is { } status)
        {
            query = query.Where(n => n.Status == status);
        }

        if (req.Template is { } template)
        {
            query = query.Where(n => n.TemplateKey == template);
        }

        if (req.From is { } from)
        {
            query = query.Where(n => n.CreatedAt >= from);
        }

        if (req.To is { } to)
        {
            query = query.Where(n => n.CreatedAt < to);
        }

        if (req.Metadata is { } metadata && NotificationLists.ParseMetadata(metadata) is { } contained)
        {
            query = query.Where(n => EF.Functions.JsonContains(n.Metadata!, contained));
        }

        await Send.OkAsync(await NotificationLists.PageAsync(query, req, ct), ct);
    }
}

internal sealed class ListUserNotificationsEndpoint(DeliveryDbContext db, ITenantContext tenant)
    : Endpoint<ListUserNotificationsRequest, CursorPage<NotificationSummary>>
{
    public override void Configure()
    {
        Get("/v1/users/{userId}/notifications");
        Permissions(ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Notifications"));
        Summary(s => s.Summary = "List a recipient's notifications, newest first (cursor-paginated)");
    }

    public override async Task HandleAsync(ListUserNotificationsRequest req, CancellationToken ct)
    {
        // An unknown user simply has no notifications; the (tenant_id, user_id, created_at) index serves the query.
        var query = db.Notifications.AsNoTracking().Where(n => n.TenantId == tenant.TenantId && n.UserId == req.UserId);
        await Send.OkAsync(await NotificationLists.PageAsync(query, req, ct), ct);
    }
}
