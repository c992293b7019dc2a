using MimeKit;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Sending;

/// <summary>Builds the MIME message of an email delivery from its rendered content.</summary>
internal static class EmailMessageFactory
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

        // Templates always renders the text part (its own, or derived from the HTML), so every message is multipart.
        var body = new BodyBuilder { HtmlBody = content.Html, TextBody = content.Text ?? "" };
        message.Body = body.ToMessageBody();
        return message;
    }
}
