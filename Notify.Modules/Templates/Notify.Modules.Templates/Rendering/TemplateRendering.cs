using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Domain;

namespace Notify.Modules.Templates.Rendering;

/// <summary>Renders one channel of a template's content as it would be sent: locale fallback, Liquid, email layout.</summary>
internal sealed class TemplateRendering(LiquidRenderer liquid, EmailLayoutRenderer layout, TimeProvider clock)
{
    /// <exception cref="Contracts.TemplateRenderException">No content for the locale, or the content failed to render with this data.</exception>
    public async Task<RenderedMessage> RenderAsync(
        TemplateContent content,
        string defaultLocale,
        string channel,
        string locale,
        IReadOnlyDictionary<string, object?> data,
        string timeZone,
        BrandSnapshot brand,
        string? unsubscribeUrl)
    {
        var variant = content.VariantFor(locale, defaultLocale)
            ?? throw new Contracts.TemplateRenderException($"The template has no content for locale '{locale}' nor its default locale '{defaultLocale}'.");
        if (!variant.Content.Has(channel))
        {
            throw new Contracts.TemplateRenderException($"The '{variant.Locale}' variant has no '{channel}' content.");
        }

        // Formatting follows the recipient's locale even when the content falls back to another variant.
        var context = new RenderContext(data, locale, timeZone, clock.GetUtcNow());
        try
        {
            if (channel != Channels.Email)
            {
                return liquid.Render(channel, variant.Content, context) with { Locale = variant.Locale };
            }

            var email = liquid.RenderEmail(variant.Content.Email!, context);
            var html = await layout.WrapAsync(email.Html, new EmailLayoutModel(
                brand.Name, brand.LogoUrl, brand.PrimaryColor, brand.PostalAddress, email.Preheader, unsubscribeUrl, variant.Locale));
            return new RenderedMessage(Channels.Email, variant.Locale, Subject: email.Subject, Html: html, Text: email.Text);
        }
        catch (LiquidRenderException ex)
        {
            throw new Contracts.TemplateRenderException(ex.Message, ex);
        }
    }
}
