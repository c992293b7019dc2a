using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Templates.Rendering;

/// <summary>One Liquid field of a template: which channel, which field, and its source text.</summary>
internal readonly record struct TemplateField(string Channel, string Field, string Source);

/// <summary>Field names used in errors and in <see cref="TemplateField"/>; they match the request's JSON names.</summary>
internal static class TemplateFields
{
    public const string Subject = "subject";
    public const string Html = "html";
    public const string Text = "text";
    public const string Preheader = "preheader";
    public const string Title = "title";
    public const string Body = "body";
    public const string Data = "data";
    public const string ActionUrl = "actionUrl";

    /// <summary>Every non-null Liquid field of every channel that has content.</summary>
    public static IEnumerable<TemplateField> Of(ChannelContents contents)
    {
        if (contents.Email is { } email)
        {
            yield return new(Channels.Email, Subject, email.Subject);
            yield return new(Channels.Email, Html, email.Html);
            if (email.Text is not null)
            {
                yield return new(Channels.Email, Text, email.Text);
            }

            if (email.Preheader is not null)
            {
                yield return new(Channels.Email, Preheader, email.Preheader);
            }
        }

        if (contents.Sms is { } sms)
        {
            yield return new(Channels.Sms, Text, sms.Text);
        }

        if (contents.Push is { } push)
        {
            yield return new(Channels.Push, Title, push.Title);
            yield return new(Channels.Push, Body, push.Body);
            if (push.Data is not null)
            {
                yield return new(Channels.Push, Data, push.Data);
            }
        }

        if (contents.InApp is { } inApp)
        {
            yield return new(Channels.InApp, Title, inApp.Title);
            yield return new(Channels.InApp, Body, inApp.Body);
            if (inApp.ActionUrl is not null)
            {
                yield return new(Channels.InApp, ActionUrl, inApp.ActionUrl);
            }
        }

        if (contents.Webhook is { } webhook)
        {
            yield return new(Channels.Webhook, Body, webhook.Body);
        }
    }
}
