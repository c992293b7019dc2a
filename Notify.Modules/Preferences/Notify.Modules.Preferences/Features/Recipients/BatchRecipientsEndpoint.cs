using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences.Features.Recipients;

public sealed record BatchRecipientsRequest(IReadOnlyList<UpsertRecipientRequest> Users);

/// <param name="Status"><c>created</c>, <c>updated</c> or <c>invalid</c> (then <paramref name="Errors"/> says why; nothing was written for it).</param>
public sealed record BatchRecipientResult(string UserId, string Status, IReadOnlyDictionary<string, string[]>? Errors);

public sealed record BatchRecipientsResponse(int Created, int Updated, int Invalid, IReadOnlyList<BatchRecipientResult> Results);

internal sealed class BatchRecipientsValidator : Validator<BatchRecipientsRequest>
{
    public const int MaxUsers = 1000;

    public BatchRecipientsValidator()
    {
        RuleFor(x => x.Users).NotEmpty().Must(u => u.Count <= MaxUsers)
            .WithMessage($"users holds 1 to {MaxUsers} recipients; split larger imports into several calls.");
        RuleFor(x => x.Users).Must(u => u.Select(x => x.UserId).Distinct(StringComparer.Ordinal).Count() == u.Count)
            .When(x => x.Users is not null)
            .WithMessage((_, u) => "Each userId may appear once per batch; repeated: "
                + string.Join(", ", u.GroupBy(x => x.UserId).Where(g => g.Count() > 1).Select(g => g.Key).Take(10)) + ".");
    }
}

internal sealed class BatchRecipientsEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<BatchRecipientsRequest, BatchRecipientsResponse>
{
    private static readonly UpsertRecipientValidator ItemValidator = new();

    public override void Configure()
    {
        Post("/v1/users/batch");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Recipients"));
        Summary(s =>
        {
            s.Summary = "Create or replace up to 1,000 recipients";
            s.Description = "Each item is validated on its own: valid ones are written in one statement, invalid ones are reported with their errors and not written.";
        });
    }

    public override async Task HandleAsync(BatchRecipientsRequest req, CancellationToken ct)
    {
        var results = new BatchRecipientResult?[req.Users.Count];
        var valid = new List<(int Index, string UserId, RecipientProfileFields Fields)>();
        for (var i = 0; i < req.Users.Count; i++)
        {
            var item = req.Users[i];
            var errors = ItemValidator.Validate(item).Errors
                .GroupBy(e => char.ToLowerInvariant(e.PropertyName[0]) + e.PropertyName[1..])
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray());
            if (item.TimeZone is not null && !RecipientRules.IsTimeZone(item.TimeZone))
            {
                errors["timeZone"] = [RecipientRules.UnknownTimeZone(item.TimeZone)];
            }

            if (errors.Count > 0)
            {
                results[i] = new BatchRecipientResult(item.UserId, "invalid", errors);
            }
            else
            {
                valid.Add((i, item.UserId, item.Fields));
            }
        }

        if (valid.Count > 0)
        {
            var written = (await store.UpsertProfilesAsync(tenant.TenantId, valid.Select(v => (v.UserId, v.Fields)).ToList(), ct))
                .ToDictionary(w => w.UserId, w => w.Created, StringComparer.Ordinal);
            foreach (var (index, userId, _) in valid)
            {
                results[index] = new BatchRecipientResult(userId, written[userId] ? "created" : "updated", null);
            }
        }

        var all = results.Select(r => r!).ToList();
        await Send.OkAsync(new BatchRecipientsResponse(
            all.Count(r => r.Status == "created"), all.Count(r => r.Status == "updated"), all.Count(r => r.Status == "invalid"), all), ct);
    }
}
