using FastEndpoints;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Tracking;

namespace Notify.Modules.Delivery.Features.Tracking;

// Opened by recipients' mail clients and browsers: no API key. The signed token in the path is the only authority, and
// what it carries is all these endpoints use (nothing from the query string).

/// <summary>GET /t/o/{token}: the open pixel. Always a 1×1 GIF, so a mail client never shows a broken image.</summary>
internal sealed class TrackOpenEndpoint(EmailTracking tracking, TrackingStore store, ILogger<TrackOpenEndpoint> logger) : EndpointWithoutRequest
{
    /// <summary>A transparent 1×1 GIF (the smallest common form, 43 bytes).</summary>
    internal static readonly byte[] Pixel = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public override void Configure()
    {
        Get("/t/o/{token}");
        AllowAnonymous();
        Description(b => b.WithTags("Tracking").Produces(200, contentType: "image/gif"));
        Summary(s =>
        {
            s.Summary = "Email open pixel (signed link from an email)";
            s.Description = "Records the email delivery as opened (statuses only move forward) and answers a transparent 1x1 GIF that is never cached. " +
                "An invalid or expired token records nothing but still gets the GIF.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var link = tracking.ReadOpen(Route<string>("token", isRequired: false));
        if (link.IsValid)
        {
            try
            {
                await store.RecordAsync(link.Payload!, DeliveryStatus.Opened, null, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The recipient sees the image either way; the open is lost, not the message.
                logger.LogWarning(ex, "Could not record the open of email delivery {DeliveryId}", link.Payload!.D);
            }
        }

        // Every load must reach us: a cached pixel would hide repeat opens and, behind a shared cache, other recipients' opens.
        HttpContext.Response.Headers.CacheControl = "no-store, no-cache, must-revalidate, max-age=0";
        HttpContext.Response.Headers.Pragma = "no-cache";
        await Send.BytesAsync(Pixel, contentType: "image/gif", cancellation: ct);
    }
}

/// <summary>
/// GET /t/c/{token}: a tracked link. Verifies the signature, records the click, and redirects (302) to exactly the URL the
/// token carries — the one in the sent message. A tampered or malformed token gets 400, an expired one 410; neither redirects.
/// </summary>
internal sealed class TrackClickEndpoint(EmailTracking tracking, TrackingStore store, ILogger<TrackClickEndpoint> logger) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/t/c/{token}");
        AllowAnonymous();
        Description(b => b.WithTags("Tracking").Produces(302).ProducesProblem(400).ProducesProblem(410));
        Summary(s =>
        {
            s.Summary = "Tracked email link (signed link from an email)";
            s.Description = "Records the email delivery as clicked (statuses only move forward) and redirects to the link's original URL, " +
                $"which is signed into the token: no other destination is possible. Links work for {EmailTracking.LinkLifetime.TotalDays:0} days.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var link = tracking.ReadClick(Route<string>("token", isRequired: false));
        if (link.Failure == TokenFailure.Expired)
        {
            await Problems.WriteAsync(HttpContext, StatusCodes.Status410Gone, "Link expired",
                $"Links in emails work for {EmailTracking.LinkLifetime.TotalDays:0} days; this one has expired.", "link-expired");
            return;
        }

        // A valid signature on a URL that is not a safe redirect cannot come from EmailTracking; refuse it all the same.
        if (!link.IsValid || !EmailTracking.IsRedirectable(link.Payload!.U))
        {
            await Problems.WriteAsync(HttpContext, StatusCodes.Status400BadRequest, "Invalid link",
                "This link is not valid: it may be incomplete or changed. Open it again from the email, or copy the whole address.", "invalid-link");
            return;
        }

        var payload = link.Payload;
        try
        {
            await store.RecordAsync(payload, DeliveryStatus.Clicked, payload.U, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The recipient still reaches the page; only the statistic is lost.
            logger.LogWarning(ex, "Could not record the click of email delivery {DeliveryId}", payload.D);
        }

        HttpContext.Response.Headers.CacheControl = "no-store";
        // Remote redirects are the point here; what makes this no open redirect is that the URL comes only from the signed token.
        await Send.RedirectAsync(payload.U!, isPermanent: false, allowRemoteRedirects: true);
    }
}
