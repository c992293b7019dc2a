using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Features.DeadLetters;

// Scopes: reading dead letters is reading notifications (notifications:read). Retry sends a message again, so it needs
// notifications:send, and resolve — the other way to close one — goes with it; admin keys hold every scope.

public sealed record ListDeadLettersRequest : PagedRequest
{
    /// <summary>open, retried or resolved.</summary>
    [QueryParam] public string? Status { get; init; }

    [QueryParam] public string? Channel { get; init; }
}

public sealed record DeadLetterRequest(Guid Id);

public sealed record ResolveDeadLetterRequest
{
    public Guid Id { get; init; }

    /// <summary>Why it was closed without another attempt (optional).</summary>
    public string? Note { get; init; }
}

/// <summary>A delivery that failed for good, parked for an operator.</summary>
public sealed record DeadLetterSummary(
    Guid Id, Guid NotificationId, Guid DeliveryId, string Channel, string? Address, string Error, int Attempts, string Status,
    string? Resolution, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static DeadLetterSummary From(DeadLetter d) =>
        new(d.Id, d.NotificationId, d.DeliveryId, d.Channel, d.Address, d.Error, d.Attempts, d.Status, d.Resolution, d.CreatedAt, d.UpdatedAt);
}

/// <summary>
/// A dead letter with its attempt history (the failed delivery's timeline events, oldest first); after a retry,
/// <see cref="RetryDeliveryId"/> is the new delivery that carries the message again.
/// </summary>
public sealed record DeadLetterDetails(
    Guid Id, Guid NotificationId, Guid DeliveryId, string Channel, string? Address, string Error, int Attempts, string Status,
    string? Resolution, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<DeadLetterAttempt> History, Guid? RetryDeliveryId = null)
{
    internal static DeadLetterDetails From(DeadLetter d, Guid? retryDeliveryId = null) => new(
        d.Id, d.NotificationId, d.DeliveryId, d.Channel, d.Address, d.Error, d.Attempts, d.Status, d.Resolution, d.CreatedAt, d.UpdatedAt,
        JsonSerializer.Deserialize<List<DeadLetterAttempt>>(d.History, JsonSerializerOptions.Web) ?? [], retryDeliveryId);
}

/// <summary>One event of the failed delivery's timeline (queued, attempt_failed, failed …).</summary>
public sealed record DeadLetterAttempt(string Type, string? Detail, DateTimeOffset At);

internal sealed class ListDeadLettersValidator : Validator<ListDeadLettersRequest>
{
    private static readonly string[] Statuses = [DeadLetterStatus.Open, DeadLetterStatus.Retried, DeadLetterStatus.Resolved];

    public ListDeadLettersValidator()
    {
        this.AddPagingRules();
        RuleFor(x => x.Status).Must(s => s is null || Statuses.Contains(s))
            .WithMessage($"status must be one of: {string.Join(", ", Statuses)}.");
        RuleFor(x => x.Channel).Must(c => c is null || Channels.All.Contains(c))
            .WithMessage($"channel must be one of: {string.Join(", ", Channels.All)}.");
    }
}

internal sealed class ListDeadLettersEndpoint(DeliveryDbContext db, ITenantContext tenant) : Endpoint<ListDeadLettersRequest, CursorPage<DeadLetterSummary>>
{
    public override void Configure()
    {
        Get("/v1/dead-letters");
        Permissions(ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Dead letters"));
        Summary(s => s.Summary = "List dead letters (deliveries that failed for good), newest first; filter by status and channel");
    }

    public override async Task HandleAsync(ListDeadLettersRequest req, CancellationToken ct)
    {
        var query = db.DeadLetters.AsNoTracking().Where(d => d.TenantId == tenant.TenantId);
        if (req.Status is { } status)
        {
            query = query.Where(d => d.Status == status);
        }

        if (req.Channel is { } channel)
        {
            query = query.Where(d => d.Channel == channel);
        }

        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(d => d.Id < after);
        }

        var rows = await query.OrderByDescending(d => d.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, d => d.Id, DeadLetterSummary.From), ct);
    }
}

internal sealed class GetDeadLetterEndpoint(DeadLetterStore store, ITenantContext tenant) : Endpoint<DeadLetterRequest, DeadLetterDetails>
{
    public override void Configure()
    {
        Get("/v1/dead-letters/{id}");
        Permissions(ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Dead letters"));
        Summary(s => s.Summary = "Get a dead letter with its attempt history");
    }

    public override async Task HandleAsync(DeadLetterRequest req, CancellationToken ct)
    {
        if (await store.FindAsync(tenant.TenantId, req.Id, ct) is not { } dead)
        {
            await Send.ResultAsync(DeadLetterResults.NotFound(req.Id));
            return;
        }

        await Send.OkAsync(DeadLetterDetails.From(dead), ct);
    }
}

internal sealed class RetryDeadLetterEndpoint(DeadLetterStore store, ITenantContext tenant) : Endpoint<DeadLetterRequest, DeadLetterDetails>
{
    public override void Configure()
    {
        Post("/v1/dead-letters/{id}/retry");
        Permissions(ApiScopes.NotificationsSend);
        Description(b => b.WithTags("Dead letters"));
        Summary(s =>
        {
            s.Summary = "Send a dead letter's message again";
            s.Description = "Queues a new delivery of the same message (notification, channel, address, rendered content); the failed delivery " +
                "stays failed. The dead letter becomes 'retried' and names the new delivery (retryDeliveryId); a failed notification goes " +
                "back to processing. 409 when the dead letter is not open.";
        });
    }

    public override async Task HandleAsync(DeadLetterRequest req, CancellationToken ct) =>
        await Send.ResultAsync(DeadLetterResults.Of(await store.RetryAsync(tenant.TenantId, req.Id, ct), req.Id));
}

internal sealed class ResolveDeadLetterValidator : Validator<ResolveDeadLetterRequest>
{
    public ResolveDeadLetterValidator() =>
        RuleFor(x => x.Note).MaximumLength(2000).WithMessage("note must be at most 2000 characters.");
}

internal sealed class ResolveDeadLetterEndpoint(DeadLetterStore store, ITenantContext tenant) : Endpoint<ResolveDeadLetterRequest, DeadLetterDetails>
{
    public override void Configure()
    {
        Post("/v1/dead-letters/{id}/resolve");
        Permissions(ApiScopes.NotificationsSend);
        Description(b => b.WithTags("Dead letters"));
        Summary(s =>
        {
            s.Summary = "Close a dead letter without another attempt";
            s.Description = "Marks the dead letter 'resolved' with the optional note. 409 when it is not open.";
        });
    }

    public override async Task HandleAsync(ResolveDeadLetterRequest req, CancellationToken ct) =>
        await Send.ResultAsync(DeadLetterResults.Of(await store.ResolveAsync(tenant.TenantId, req.Id, req.Note, ct), req.Id));
}

internal static class DeadLetterResults
{
    public static IResult NotFound(Guid id) => ProblemResults.NotFound($"No dead letter with id '{id}'.");

    public static IResult Of(DeadLetterOutcome outcome, Guid id) => outcome switch
    {
        DeadLetterOutcome.Done done => Results.Ok(DeadLetterDetails.From(done.DeadLetter, done.RetryDeliveryId)),
        DeadLetterOutcome.Conflict conflict => ProblemResults.Conflict(conflict.Reason),
        _ => NotFound(id),
    };
}
