using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Templates.Domain;

internal static class ChannelContentsExtensions
{
    /// <summary>Whether this locale variant has content for <paramref name="channel"/>.</summary>
    public static bool Has(this ChannelContents contents, string channel) => channel switch
    {
        Channels.Email => contents.Email is not null,
        Channels.Sms => contents.Sms is not null,
        Channels.Push => contents.Push is not null,
        Channels.InApp => contents.InApp is not null,
        Channels.Webhook => contents.Webhook is not null,
        _ => false,
    };
}
