using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Preferences.Caching;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences.Pages;

/// <summary>GET /preferences?token=: the recipient's preference center.</summary>
internal sealed class PreferenceCenterPageEndpoint(RecipientTokens tokens, RecipientStore store, PreferenceCache cache, PageRenderer pages, TimeProvider clock)
    : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/preferences");
        AllowAnonymous();
        Description(b => b.WithTags("Recipient pages").Produces(200, contentType: "text/html"));
        Summary(s => s.Summary = "Preference center page (signed link)");
    }

    public override Task HandleAsync(CancellationToken ct) =>
        PreferenceCenterPage.ShowAsync(HttpContext, Query<string>("token", isRequired: false), tokens, store, cache, pages, clock, ct);
}

/// <summary>POST /preferences: saves the preference center form (the token travels in a hidden field).</summary>
internal sealed class PreferenceCenterSaveEndpoint(RecipientTokens tokens, RecipientStore store, PreferenceCache cache, PageRenderer pages, TimeProvider clock)
    : EndpointWithoutRequest
{
    public override void Configure()
    {
        Post("/preferences");
        AllowAnonymous();
        AllowFormData(urlEncoded: true);
        Description(b => b.WithTags("Recipient pages").Produces(200, contentType: "text/html"));
        Summary(s => s.Summary = "Save the preference center form");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var form = await HttpContext.Request.ReadFormAsync(ct);
        var token = form["token"].ToString();
        var link = tokens.Read(RecipientTokens.PreferencesPurpose, token);
        if (!link.IsValid)
        {
            await LinkProblems.SendAsync(HttpContext, pages, link.Failure);
            return;
        }

        var (tenantId, userId) = (link.Payload!.T, link.Payload.U);
        var defaults = (await cache.DefaultsAsync(tenantId, ct)).Defaults;
        string? error = null;
        var changed = await store.ChangeAsync(tenantId, userId, create: false, recipient =>
        {
            var (preferences, zone, resubscribe, problem) = PreferenceCenterForm.Read(form, recipient, defaults);
            error = problem;
            if (preferences is null)
            {
                return; // nothing changes; the page shows the error
            }

            recipient.Preferences = preferences;
            recipient.TimeZone = zone;
            recipient.Unsubscribes.RemoveAll(u => resubscribe.Contains(u.Category));
        }, ct);
        if (changed is null)
        {
            await LinkProblems.SendAsync(HttpContext, pages, Abstractions.Security.TokenFailure.Invalid);
            return;
        }

        if (error is not null)
        {
            HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        }

        await PreferenceCenterPage.RenderAsync(HttpContext, token, changed.Value.Recipient, defaults, error is null, error, pages, clock);
    }
}

internal static class PreferenceCenterPage
{
    public static async Task ShowAsync(
        HttpContext http, string? token, RecipientTokens tokens, RecipientStore store, PreferenceCache cache, PageRenderer pages,
        TimeProvider clock, CancellationToken ct)
    {
        var link = tokens.Read(RecipientTokens.PreferencesPurpose, token);
        if (!link.IsValid)
        {
            await LinkProblems.SendAsync(http, pages, link.Failure);
            return;
        }

        var (tenantId, userId) = (link.Payload!.T, link.Payload.U);
        var recipient = await store.Db.Recipients.AsNoTracking().Include(r => r.Unsubscribes)
            .FirstOrDefaultAsync(r => r.TenantId == tenantId && r.UserId == userId, ct);
        if (recipient is null)
        {
            // Erased since the link was made: nothing to show, and nothing to reveal about who it was.
            await LinkProblems.SendAsync(http, pages, Abstractions.Security.TokenFailure.Invalid);
            return;
        }

        await RenderAsync(http, token!, recipient, (await cache.DefaultsAsync(tenantId, ct)).Defaults, saved: false, error: null, pages, clock);
    }

    public static async Task RenderAsync(
        HttpContext http, string token, Recipient recipient, Features.TenantDefaults defaults, bool saved, string? error, PageRenderer pages, TimeProvider clock) =>
        await LinkProblems.SendHtmlAsync(http, await pages.RenderAsync(PageRenderer.PreferenceCenter, "Notification preferences",
            PreferenceCenterForm.View(token, recipient, defaults, clock.GetUtcNow(), saved, error)));
}
