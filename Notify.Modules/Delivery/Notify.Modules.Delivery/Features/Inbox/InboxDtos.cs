using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Inbox;

namespace Notify.Modules.Delivery.Features.Inbox;

/// <summary>One item of a recipient's inbox: an in-app notification and what the recipient did with it.</summary>
/// <param name="Id">The item's id (the in-app delivery's id).</param>
/// <param name="Data">The notification's data, for clients that render their own UI.</param>
public sealed record InboxItemResponse(
    Guid Id,
    Guid NotificationId,
    string Category,
    string Title,
    string Body,
    string? ActionUrl,
    JsonElement? Data,
    DateTimeOffset? SeenAt,
    DateTimeOffset? ReadAt,
    DateTimeOffset? ArchivedAt,
    DateTimeOffset CreatedAt)
{
    internal static InboxItemResponse From(InboxItem i) => new(
        i.Id, i.NotificationId, i.Category, i.Title, i.Body, i.ActionUrl, i.Data?.RootElement.Clone(), i.SeenAt, i.ReadAt, i.ArchivedAt, i.CreatedAt);
}

/// <summary>Items not yet read and not yet seen, archived ones not counted.</summary>
public sealed record InboxCountsResponse(int Unread, int Unseen);

/// <summary>How many items a bulk change touched.</summary>
public sealed record InboxBulkChangeResponse(int Updated);

public sealed record InboxItemRequest(Guid Id);

/// <summary><c>GET /v1/inbox?status=unread|read|all&amp;archived=false&amp;category=&amp;limit=&amp;cursor=</c>.</summary>
public sealed record ListInboxRequest
{
    [QueryParam] public string Status { get; init; } = InboxFilter.All;
    [QueryParam] public bool Archived { get; init; }
    [QueryParam] public string? Category { get; init; }
    [QueryParam] public int Limit { get; init; } = Abstractions.Http.Cursor.DefaultLimit;
    [QueryParam] public string? Cursor { get; init; }
}

internal sealed class ListInboxValidator : Validator<ListInboxRequest>
{
    public ListInboxValidator()
    {
        RuleFor(x => x.Status).Must(s => InboxFilter.Statuses.Contains(s))
            .WithMessage($"status is one of {string.Join(", ", InboxFilter.Statuses)}.");
        RuleFor(x => x.Limit).InclusiveBetween(1, Abstractions.Http.Cursor.MaxLimit);
        RuleFor(x => x.Category).MaximumLength(100);
        RuleFor(x => x.Cursor).Must(c => c is null || InboxCursor.TryDecode(c, out _))
            .WithMessage("cursor is not a value returned as nextCursor by this endpoint.");
    }
}
