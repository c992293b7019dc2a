using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences.Features.Suppressions;

public sealed record ListSuppressionsRequest : PagedRequest;

public sealed record SuppressionResponse(string Address, string Reason, DateTimeOffset CreatedAt);

/// <param name="Reason"><c>hard_bounce</c>, <c>complaint</c> or <c>manual</c> (the default).</param>
public sealed record AddSuppressionRequest(string Address, string? Reason);

public sealed record RemoveSuppressionRequest(string Address);

internal sealed class ListSuppressionsValidator : Validator<ListSuppressionsRequest>
{
    public ListSuppressionsValidator() => this.AddPagingRules();
}

internal sealed class AddSuppressionValidator : Validator<AddSuppressionRequest>
{
    private static readonly string[] Reasons = [SuppressionReasons.HardBounce, SuppressionReasons.Complaint, SuppressionReasons.Manual];

    public AddSuppressionValidator()
    {
        RuleFor(x => x.Address).NotEmpty().MaximumLength(320)
            .Must(a => a.Contains('@', StringComparison.Ordinal) || (a.StartsWith('+') && a[1..].All(char.IsAsciiDigit)))
            .WithMessage("address is an email address or an E.164 phone number.");
        RuleFor(x => x.Reason).Must(r => r is null || Reasons.Contains(r)).WithMessage($"reason is one of {string.Join(", ", Reasons)}.");
    }
}

internal sealed class ListSuppressionsEndpoint(PreferencesDbContext db, ITenantContext tenant) : Endpoint<ListSuppressionsRequest, CursorPage<SuppressionResponse>>
{
    public override void Configure()
    {
        Get("/v1/suppressions");
        Permissions(ApiScopes.PreferencesWrite, ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "List suppressed addresses, newest first");
    }

    public override async Task HandleAsync(ListSuppressionsRequest req, CancellationToken ct)
    {
        var query = db.Suppressions.AsNoTracking().Where(s => s.TenantId == tenant.TenantId);
        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(s => s.Id < after);
        }

        var rows = await query.OrderByDescending(s => s.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, s => s.Id, s => new SuppressionResponse(s.Address, s.Reason, s.CreatedAt)), ct);
    }
}

internal sealed class AddSuppressionEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<AddSuppressionRequest, SuppressionResponse>
{
    public override void Configure()
    {
        Post("/v1/suppressions");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "Suppress an address: nothing is sent to it on any channel (idempotent)");
    }

    public override async Task HandleAsync(AddSuppressionRequest req, CancellationToken ct)
    {
        await store.SuppressAsync(tenant.TenantId, req.Address, req.Reason ?? SuppressionReasons.Manual, ct);
        var address = Addresses.Normalize(req.Address);
        var row = await store.Db.Suppressions.AsNoTracking().SingleAsync(s => s.TenantId == tenant.TenantId && s.Address == address, ct);
        await Send.OkAsync(new SuppressionResponse(row.Address, row.Reason, row.CreatedAt), ct);
    }
}

internal sealed class RemoveSuppressionEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<RemoveSuppressionRequest>
{
    public override void Configure()
    {
        Delete("/v1/suppressions/{address}");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "Remove an address from the suppression list");
    }

    public override async Task HandleAsync(RemoveSuppressionRequest req, CancellationToken ct) =>
        await (await store.UnsuppressAsync(tenant.TenantId, req.Address, ct)
            ? Send.NoContentAsync(ct)
            : Send.ResultAsync(ProblemResults.NotFound($"'{req.Address}' is not suppressed.")));
}
