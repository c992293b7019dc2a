using System.Net;
using System.Text.RegularExpressions;
using MimeKit;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Sending;

/// <summary>Builds the MIME message of an email delivery from its rendered content.</summary>
internal static partial class EmailMessageFactory
{
    /// <summary>
    /// The Message-ID is derived from the delivery id, never random: a delivery sent again after a crash (see
    /// <see cref="EmailSender"/>) carries the same Message-ID, so the receiving side can tell it is a duplicate.
    /// </summary>
    public static string MessageIdOf(Guid deliveryId, MailboxAddress from)
    {
        var at = from.Address.LastIndexOf('@');
        var domain = at >= 0 && at < from.Address.Length - 1 ? from.Address[(at + 1)..] : "notify.localhost";
        return $"{deliveryId:N}@{domain}";
    }

    /// <param name="unsubscribe">The one-click unsubscribe link (RFC 8058) for non-transactional mail; null for mandatory categories.</param>
    public static MimeMessage Create(Guid deliveryId, MailboxAddress from, string to, RenderedMessage content, Uri? unsubscribe)
    {
        var message = new MimeMessage { Subject = content.Subject ?? "", MessageId = MessageIdOf(deliveryId, from) };
        message.From.Add(from);
        message.To.Add(MailboxAddress.Parse(to));
        if (unsubscribe is not null)
        {
            message.Headers.Add("List-Unsubscribe", $"<{unsubscribe.AbsoluteUri}>");
            message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }

        var body = new BodyBuilder { HtmlBody = content.Html, TextBody = content.Text ?? TextOf(content.Html) };
        message.Body = body.ToMessageBody();
        return message;
    }

    /// <summary>A plain-text part for templates that have none: the HTML with its tags stripped, so every message is multipart.</summary>
    private static string TextOf(string? html)
    {
        if (string.IsNullOrEmpty(html))
        {
            return "";
        }

        var text = Blocks().Replace(html, "");
        text = LineBreaks().Replace(text, "\n");
        text = WebUtility.HtmlDecode(Tags().Replace(text, ""));
        return BlankLines().Replace(text, "\n\n").Trim();
    }

    [GeneratedRegex("<(style|script|head)[^>]*>.*?</\\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Blocks();

    [GeneratedRegex("<(br|/p|/div|/tr|/h[1-6]|/li)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex LineBreaks();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tags();

    [GeneratedRegex("\n\\s*\n+")]
    private static partial Regex BlankLines();
}
