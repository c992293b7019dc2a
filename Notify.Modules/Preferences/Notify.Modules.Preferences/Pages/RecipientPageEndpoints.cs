using FastEndpoints;
using Microsoft.AspNetCore.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Preferences.Caching;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features.Unsubscribes;

namespace Notify.Modules.Preferences.Pages;

/// <summary>What the recipient pages answer for a link that is not (or no longer) valid: a page, never a 500.</summary>
internal static class LinkProblems
{
    public static async Task SendAsync(HttpContext http, PageRenderer pages, TokenFailure failure)
    {
        var expired = failure == TokenFailure.Expired;
        http.Response.StatusCode = expired ? StatusCodes.Status410Gone : StatusCodes.Status400BadRequest;
        await SendHtmlAsync(http, await pages.RenderAsync(PageRenderer.Message, expired ? "Link expired" : "Link not valid", PageRenderer.View(new()
        {
            ["Heading"] = expired ? "This link has expired" : "This link is not valid",
            ["Kind"] = "error",
            ["Text"] = expired
                ? "Links to your notification settings only work for a while. Use the link in a recent message from us to get a new one."
                : "The link may be incomplete or changed. Open it again from the message we sent you, or copy the whole address.",
            ["LinkUrl"] = null,
            ["LinkText"] = null,
        })));
    }

    public static async Task SendHtmlAsync(HttpContext http, string html)
    {
        http.Response.ContentType = "text/html; charset=utf-8";
        // Pages carry a personal token: keep them out of caches and referrers, and allow no script at all.
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
        await http.Response.WriteAsync(html);
    }
}

/// <summary>GET /unsubscribe?token=: asks before unsubscribing, since link scanners and prefetchers follow GET links.</summary>
internal sealed class UnsubscribePageEndpoint(RecipientTokens tokens, PageRenderer pages, PreferenceCache cache) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/unsubscribe");
        AllowAnonymous();
        Description(b => b.WithTags("Recipient pages").Produces(200, contentType: "text/html"));
        Summary(s => s.Summary = "Unsubscribe confirmation page (signed link from an email)");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var token = Query<string>("token", isRequired: false);
        var link = tokens.Read(RecipientTokens.UnsubscribePurpose, token);
        if (!link.IsValid)
        {
            await LinkProblems.SendAsync(HttpContext, pages, link.Failure);
            return;
        }

        var payload = link.Payload!;
        var defaults = await cache.DefaultsAsync(payload.T, ct);
        await LinkProblems.SendHtmlAsync(HttpContext, await pages.RenderAsync(PageRenderer.Unsubscribe, "Unsubscribe", PageRenderer.View(new()
        {
            ["CategoryLabel"] = PreferenceCenterForm.LabelOf(defaults.Defaults, payload.C!),
            ["Action"] = "/unsubscribe?token=" + Uri.EscapeDataString(token!),
            ["PreferencesUrl"] = tokens.LinksFor(payload.T, payload.U, payload.C!).PreferenceCenter.PathAndQuery,
        })));
    }
}

/// <summary>
/// POST /unsubscribe?token=: the RFC 8058 one-click target (body <c>List-Unsubscribe=One-Click</c>, sent by mailbox
/// providers with no cookies or browser) and the confirmation page's form. Idempotent: a repeat changes nothing.
/// </summary>
internal sealed class UnsubscribePostEndpoint(RecipientTokens tokens, UnsubscribeFlow flow, PageRenderer pages) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Post("/unsubscribe");
        AllowAnonymous();
        AllowFormData(urlEncoded: true);
        Description(b => b.WithTags("Recipient pages"));
        Summary(s => s.Summary = "Unsubscribe now: RFC 8058 one-click POST (List-Unsubscribe=One-Click) or the confirmation form");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var link = tokens.Read(RecipientTokens.UnsubscribePurpose, Query<string>("token", isRequired: false));
        var form = HttpContext.Request.HasFormContentType ? await HttpContext.Request.ReadFormAsync(ct) : null;
        var oneClick = form is not null && form["List-Unsubscribe"].ToString() == "One-Click";
        if (!link.IsValid)
        {
            if (oneClick)
            {
                await Send.StringAsync("This unsubscribe link is not valid or has expired.", StatusCodes.Status400BadRequest, cancellation: ct);
                return;
            }

            await LinkProblems.SendAsync(HttpContext, pages, link.Failure);
            return;
        }

        var payload = link.Payload!;
        var feedback = form?["feedback"].ToString() is { Length: > 0 } text ? text[..Math.Min(text.Length, 2000)] : null;
        var outcome = await flow.UnsubscribeAsync(payload.T, payload.U, payload.C!, UnsubscribeReasons.UserRequest, feedback, expiresAt: null, ct);
        // A recipient erased since the email went out has nothing left to unsubscribe: that is still a success for them.
        if (oneClick)
        {
            await Send.StringAsync("You are unsubscribed.", StatusCodes.Status200OK, cancellation: ct);
            return;
        }

        await LinkProblems.SendHtmlAsync(HttpContext, await pages.RenderAsync(PageRenderer.Message, "Unsubscribed", PageRenderer.View(new()
        {
            ["Heading"] = outcome is UnsubscribeOutcome.Mandatory ? "These messages cannot be switched off" : "You are unsubscribed",
            ["Kind"] = outcome is UnsubscribeOutcome.Mandatory ? "error" : "notice",
            ["Text"] = outcome is UnsubscribeOutcome.Mandatory
                ? UnsubscribeFlow.MandatoryMessage(payload.C!)
                : "You will not receive these notifications any more. It can take a few minutes for messages already on their way.",
            ["LinkUrl"] = tokens.LinksFor(payload.T, payload.U, payload.C!).PreferenceCenter.PathAndQuery,
            ["LinkText"] = "Manage all your notification preferences",
        })));
    }
}
