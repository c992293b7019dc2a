using NodaTime;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;
using static Notify.Modules.Preferences.Features.PreferenceSetting;

namespace Notify.Preferences.Tests;

public sealed class PreferenceRulesTests
{
    private const string Marketing = "marketing";
    private const string Email = "email";

    private static readonly Instant Noon = Instant.FromUtc(2026, 6, 10, 12, 0);

    // tenant default (marketing × email) | user channel switch (email) | user category (marketing × email) → allowed, reason
    public static TheoryData<PreferenceSetting, PreferenceSetting, PreferenceSetting, bool, string> Layers => new()
    {
        { Inherit, Inherit, Inherit, true, PlanReasons.Allowed },
        { Forbid, Inherit, Inherit, false, PlanReasons.ForbiddenByTenantDefault },
        { Allow, Inherit, Inherit, true, PlanReasons.Allowed },
        { Inherit, Forbid, Inherit, false, PlanReasons.ForbiddenByUserChannel },
        { Allow, Forbid, Inherit, false, PlanReasons.ForbiddenByUserChannel },
        { Forbid, Allow, Inherit, true, PlanReasons.Allowed },
        { Inherit, Inherit, Forbid, false, PlanReasons.ForbiddenByUserCategory },
        { Allow, Allow, Forbid, false, PlanReasons.ForbiddenByUserCategory },
        { Forbid, Forbid, Allow, true, PlanReasons.Allowed },
        { Inherit, Forbid, Allow, true, PlanReasons.Allowed },
        { Forbid, Inherit, Allow, true, PlanReasons.Allowed },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void Most_specific_layer_that_does_not_inherit_decides(
        PreferenceSetting tenantDefault, PreferenceSetting userChannel, PreferenceSetting userCategory, bool allowed, string reason)
    {
        var plan = Plan(Defaults(tenantDefault), User(userChannel, userCategory), Marketing, NotificationPriority.Normal).Channels.Single();

        Assert.Equal(allowed, plan.Allowed);
        Assert.Equal(reason, plan.Reason);
        Assert.Equal(allowed ? "ann@example.com" : null, plan.Address);
    }

    [Theory]
    [InlineData(MandatoryCategories.Transactional)]
    [InlineData(MandatoryCategories.System)]
    public void Mandatory_categories_go_out_whatever_every_layer_says(string category)
    {
        var user = User(Forbid, Forbid, category) with { QuietHours = new TimeWindow("00:00", "23:59") };
        var recipient = Recipient(user, unsubscribedFrom: category);

        var plan = PreferenceRules.Plan(recipient, new DefaultsProfile(Defaults(Forbid, category)), Request(category, NotificationPriority.Low), Noon)
            .Channels.Single();

        Assert.True(plan.Allowed);
        Assert.Equal(PlanReasons.MandatoryCategory, plan.Reason);
        Assert.Null(plan.DeliverAt);
    }

    [Fact]
    public void Critical_priority_overrides_forbidding_layers_and_quiet_hours()
    {
        var user = User(Forbid, Forbid) with { QuietHours = new TimeWindow("00:00", "23:59") };

        var plan = Plan(Defaults(Forbid), user, Marketing, NotificationPriority.Critical).Channels.Single();

        Assert.True(plan.Allowed);
        Assert.Equal(PlanReasons.CriticalPriority, plan.Reason);
        Assert.Null(plan.DeliverAt);
    }

    [Theory]
    [InlineData(NotificationPriority.Critical)]
    [InlineData(NotificationPriority.Normal)]
    public void An_unsubscribe_stops_even_critical_messages(NotificationPriority priority)
    {
        var plan = PreferenceRules.Plan(Recipient(UserPreferences.Empty, unsubscribedFrom: Marketing), DefaultsProfile.Empty, Request(Marketing, priority), Noon);

        Assert.Equal(PlanReasons.Unsubscribed, plan.Channels.Single().Reason);
    }

    [Fact]
    public void An_expired_temporary_unsubscribe_no_longer_applies()
    {
        var recipient = Recipient(UserPreferences.Empty, unsubscribedFrom: Marketing, unsubscribeEnds: Noon.Minus(Duration.FromMinutes(1)));

        Assert.True(PreferenceRules.Plan(recipient, DefaultsProfile.Empty, Request(Marketing, NotificationPriority.Normal), Noon).Channels.Single().Allowed);
    }

    [Fact]
    public void A_suppressed_address_or_a_missing_one_is_never_sent_to_even_for_transactional()
    {
        var snapshot = new RecipientSnapshot("u1", "ann@example.com", null, "en", "UTC", null, UserPreferences.Empty, [], [], ["ann@example.com"]);
        var request = new PlanRequest(Guid.Empty, "u1", MandatoryCategories.Transactional, NotificationPriority.Critical, ["email", "sms", "push", "in_app"]);

        var plan = PreferenceRules.Plan(new RecipientProfile(snapshot), DefaultsProfile.Empty, request, Noon).Channels;

        Assert.Equal([PlanReasons.Suppressed, PlanReasons.NoAddress, PlanReasons.NoAddress, PlanReasons.MandatoryCategory], plan.Select(p => p.Reason));
        Assert.Equal([false, false, false, true], plan.Select(p => p.Allowed));
    }

    [Fact]
    public void Quiet_hours_delay_every_allowed_channel_to_their_end_in_the_recipients_zone()
    {
        var user = UserPreferences.Empty with { QuietHours = new TimeWindow("22:00", "07:00") };
        var snapshot = new RecipientSnapshot("u1", "ann@example.com", "+14155550123", "en", "Europe/Berlin", null, user, [], [], []);
        var at2330Berlin = Instant.FromUtc(2026, 6, 10, 21, 30); // 23:30 CEST

        var plan = PreferenceRules.Plan(new RecipientProfile(snapshot), DefaultsProfile.Empty,
            new PlanRequest(Guid.Empty, "u1", Marketing, NotificationPriority.High, ["email", "sms"]), at2330Berlin);

        var sevenBerlin = new DateTimeOffset(2026, 6, 11, 5, 0, 0, TimeSpan.Zero);
        Assert.All(plan.Channels, c => Assert.Equal(sevenBerlin, c.DeliverAt));
        Assert.Equal("Europe/Berlin", plan.TimeZone);
    }

    [Fact]
    public void A_digested_category_goes_to_the_digest_except_in_app_which_is_delivered()
    {
        var defaults = new TenantDefaults(new Dictionary<string, CategoryDefaults>
        {
            [Marketing] = new(Digest: new DigestSetting("daily", "09:00")),
        });
        var snapshot = new RecipientSnapshot("u1", "ann@example.com", null, "en", "America/New_York", null, UserPreferences.Empty, [], [], []);

        var plan = PreferenceRules.Plan(new RecipientProfile(snapshot), new DefaultsProfile(defaults),
            new PlanRequest(Guid.Empty, "u1", Marketing, NotificationPriority.Normal, ["email", "in_app"]), Noon);

        var email = plan.Channels[0];
        Assert.Equal("daily", email.Digest?.Frequency);
        Assert.Equal(new DateTimeOffset(2026, 6, 10, 13, 0, 0, TimeSpan.Zero), email.Digest?.NextAt); // 09:00 EDT, later today
        Assert.Null(plan.Channels[1].Digest);
        Assert.True(plan.Channels[1].Allowed);
    }

    [Fact]
    public void A_recipient_turning_a_default_digest_off_gets_messages_one_by_one()
    {
        var defaults = new TenantDefaults(new Dictionary<string, CategoryDefaults> { [Marketing] = new(Digest: new DigestSetting("weekly", "09:00", "monday")) });
        var user = UserPreferences.Empty with { Digests = new Dictionary<string, DigestSetting> { [Marketing] = new("off") } };

        var plan = Plan(defaults, user, Marketing, NotificationPriority.Normal).Channels.Single();

        Assert.Null(plan.Digest);
        Assert.True(plan.Allowed);
    }

    private static RecipientPlan Plan(TenantDefaults defaults, UserPreferences user, string category, NotificationPriority priority) =>
        PreferenceRules.Plan(Recipient(user), new DefaultsProfile(defaults), Request(category, priority), Noon);

    private static PlanRequest Request(string category, NotificationPriority priority) => new(Guid.Empty, "u1", category, priority, [Email]);

    private static RecipientProfile Recipient(UserPreferences user, string? unsubscribedFrom = null, Instant? unsubscribeEnds = null) =>
        new(new RecipientSnapshot("u1", "ann@example.com", null, "en", "UTC", null, user, [],
            unsubscribedFrom is null ? [] : [new UnsubscribeSnapshot(unsubscribedFrom, unsubscribeEnds?.ToDateTimeOffset())], []));

    private static TenantDefaults Defaults(PreferenceSetting setting, string category = Marketing) =>
        new(new Dictionary<string, CategoryDefaults> { [category] = new(Channels: new Dictionary<string, PreferenceSetting> { [Email] = setting }) });

    private static UserPreferences User(PreferenceSetting channel, PreferenceSetting categorySetting, string category = Marketing) => new(
        Channels: new Dictionary<string, PreferenceSetting> { [Email] = channel },
        Categories: new Dictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>
        {
            [category] = new Dictionary<string, PreferenceSetting> { [Email] = categorySetting },
        });
}
