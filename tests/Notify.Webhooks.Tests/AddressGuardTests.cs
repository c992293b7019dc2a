using System.Net;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Webhooks.Domain;
using Notify.Modules.Webhooks.Safety;

namespace Notify.Webhooks.Tests;

public sealed class AddressGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.0.9")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00:ec2::254")]
    [InlineData("fc00::5")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("::127.0.0.1")]
    public void Internal_addresses_are_forbidden(string address) => Assert.True(AddressGuard.IsForbidden(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_are_allowed(string address) => Assert.False(AddressGuard.IsForbidden(IPAddress.Parse(address)));

    [Theory]
    [InlineData("*", "notification.sent", true)]
    [InlineData("notification.*", "notification.sent", true)]
    [InlineData("notification.*", "recipient.unsubscribed", false)]
    [InlineData("notification.sent", "notification.sent", true)]
    [InlineData("notification.sent", "notification.delivered", false)]
    [InlineData("notif*", "notification.sent", false)]
    public void Event_filters_match_names_prefixes_and_everything(string pattern, string type, bool matches) =>
        Assert.Equal(matches, EventTypeFilter.Matches(pattern, type));

    [Theory]
    [InlineData("notification.*", true)]
    [InlineData("webhook.disabled", true)]
    [InlineData("*", true)]
    [InlineData("notification.nope", false)]
    [InlineData("nothing.*", false)]
    [InlineData("notif*", false)]
    public void Only_filters_that_can_match_a_known_type_are_valid(string pattern, bool valid) =>
        Assert.Equal(valid, EventTypeFilter.IsValid(pattern));
}
