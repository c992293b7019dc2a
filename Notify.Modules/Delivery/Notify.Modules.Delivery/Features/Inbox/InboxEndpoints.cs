using FastEndpoints;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Inbox;

namespace Notify.Modules.Delivery.Features.Inbox;

// The recipient-facing inbox: no API key. Each endpoint allows anonymous access at the pipeline level and reads the
// subscriber token itself (InboxTokens), so API-key authentication of every other endpoint stays as it is.

internal sealed class ListInboxEndpoint(InboxStore store, InboxTokens tokens) : Endpoint<ListInboxRequest, CursorPage<InboxItemResponse>>
{
    public override void Configure()
    {
        Get("/v1/inbox");
        AllowAnonymous();
        Description(b => b.WithTags("Inbox"));
        Summary(s =>
        {
            s.Summary = "List the recipient's inbox, newest first (subscriber token)";
            s.Description = "Authenticated by a subscriber token ('Authorization: Bearer <token>' or '?token='), not an API key. " +
                "status=unread|read|all (default all), archived=true lists only archived items (default: only unarchived), category= narrows to one category.";
        });
    }

    public override async Task HandleAsync(ListInboxRequest req, CancellationToken ct)
    {
        if (await tokens.AuthenticateAsync(HttpContext) is not { } owner)
        {
            return;
        }

        await Send.OkAsync(await store.ListAsync(owner, req, ct), ct);
    }
}

internal sealed class InboxCountsEndpoint(InboxStore store, InboxTokens tokens) : EndpointWithoutRequest<InboxCountsResponse>
{
    public override void Configure()
    {
        Get("/v1/inbox/unread-count");
        AllowAnonymous();
        Description(b => b.WithTags("Inbox"));
        Summary(s => s.Summary = "Count the recipient's unread and unseen items, archived ones not counted (subscriber token)");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await tokens.AuthenticateAsync(HttpContext) is not { } owner)
        {
            return;
        }

        var counts = await store.CountsAsync(owner, ct);
        await Send.OkAsync(new InboxCountsResponse(counts.Unread, counts.Unseen), ct);
    }
}

/// <summary>The endpoints that change one item: read, unread, seen, archive, unarchive.</summary>
internal abstract class ChangeInboxItemEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens, InboxChange change, string action, string summary)
    : Endpoint<InboxItemRequest, InboxItemResponse>
{
    public override void Configure()
    {
        Post($"/v1/inbox/{{id}}/{action}");
        AllowAnonymous();
        Description(b => b.WithTags("Inbox"));
        Summary(s => s.Summary = summary + " (subscriber token)");
    }

    public override async Task HandleAsync(InboxItemRequest req, CancellationToken ct)
    {
        if (await tokens.AuthenticateAsync(HttpContext) is not { } owner)
        {
            return;
        }

        if (await store.ChangeAsync(owner, req.Id, change, ct) is not { } item)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"No inbox item with id '{req.Id}'."));
            return;
        }

        await InboxCountsChanged.PublishAsync(store, fanOut, owner, ct);
        await Send.OkAsync(InboxItemResponse.From(item), ct);
    }
}

internal sealed class MarkInboxItemReadEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens)
    : ChangeInboxItemEndpoint(store, fanOut, tokens, InboxChange.Read, "read", "Mark an inbox item read (and seen)");

internal sealed class MarkInboxItemUnreadEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens)
    : ChangeInboxItemEndpoint(store, fanOut, tokens, InboxChange.Unread, "unread", "Mark an inbox item unread");

internal sealed class MarkInboxItemSeenEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens)
    : ChangeInboxItemEndpoint(store, fanOut, tokens, InboxChange.Seen, "seen", "Mark an inbox item seen");

internal sealed class ArchiveInboxItemEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens)
    : ChangeInboxItemEndpoint(store, fanOut, tokens, InboxChange.Archive, "archive", "Archive an inbox item");

internal sealed class UnarchiveInboxItemEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens)
    : ChangeInboxItemEndpoint(store, fanOut, tokens, InboxChange.Unarchive, "unarchive", "Move an inbox item out of the archive");

internal sealed class MarkAllInboxReadEndpoint(InboxStore store, InboxFanOut fanOut, InboxTokens tokens) : EndpointWithoutRequest<InboxBulkChangeResponse>
{
    public override void Configure()
    {
        Post("/v1/inbox/read-all");
        AllowAnonymous();
        Description(b => b.WithTags("Inbox"));
        Summary(s => s.Summary = "Mark every unread inbox item read (subscriber token)");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await tokens.AuthenticateAsync(HttpContext) is not { } owner)
        {
            return;
        }

        var updated = await store.ReadAllAsync(owner, ct);
        await InboxCountsChanged.PublishAsync(store, fanOut, owner, ct);
        await Send.OkAsync(new InboxBulkChangeResponse(updated), ct);
    }
}

internal static class InboxCountsChanged
{
    /// <summary>Tells the recipient's open streams (on any replica) the counts after a change.</summary>
    public static async Task PublishAsync(InboxStore store, InboxFanOut fanOut, SubscriberTokenPayload owner, CancellationToken ct)
    {
        var counts = await store.CountsAsync(owner, ct);
        await fanOut.PublishCountsAsync(owner.T, owner.U, new InboxCountsResponse(counts.Unread, counts.Unseen));
    }
}
