using System.Text.Json;
using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Providers;

namespace Notify.Modules.Delivery.Features.Providers;

public sealed record ListSinkMessagesRequest : PagedRequest
{
    [QueryParam] public string? Channel { get; init; }

    /// <summary>One sink provider's messages; the built-in development sink is the empty id (00000000-…).</summary>
    [QueryParam] public Guid? ProviderId { get; init; }
}

/// <summary>What a development sink recorded instead of sending: the rendered message as the provider would have had it.</summary>
public sealed record SinkMessageDto(Guid Id, Guid ProviderId, Guid DeliveryId, string Channel, string? Address, JsonElement Content, DateTimeOffset CreatedAt);

internal sealed class ListSinkMessagesValidator : Validator<ListSinkMessagesRequest>
{
    public ListSinkMessagesValidator() => this.AddPagingRules();
}

internal sealed class ListSinkMessagesEndpoint(DeliveryDbContext db, ITenantContext tenant) : Endpoint<ListSinkMessagesRequest, CursorPage<SinkMessageDto>>
{
    public override void Configure()
    {
        Get("/v1/sink-messages");
        Permissions(ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "List what development sink providers recorded instead of sending, newest first");
    }

    public override async Task HandleAsync(ListSinkMessagesRequest req, CancellationToken ct)
    {
        var query = db.SinkMessages.AsNoTracking().Where(m => m.TenantId == tenant.TenantId);
        if (req.Channel is { } channel)
        {
            query = query.Where(m => m.Channel == channel);
        }

        if (req.ProviderId is { } providerId)
        {
            query = query.Where(m => m.ProviderId == providerId);
        }

        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(m => m.Id < after);
        }

        var rows = await query.OrderByDescending(m => m.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, m => m.Id, m => new SinkMessageDto(
            m.Id, m.ProviderId, m.DeliveryId, m.Channel, m.Address, JsonDocument.Parse(m.Content).RootElement.Clone(), m.CreatedAt)), ct);
    }
}
