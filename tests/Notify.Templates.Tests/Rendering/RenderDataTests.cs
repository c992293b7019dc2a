using System.Text.Json;
using Notify.Modules.Templates.Rendering;

namespace Notify.Templates.Tests.Rendering;

public sealed class RenderDataTests
{
    [Fact]
    public void Json_becomes_dictionaries_lists_and_primitives()
    {
        var json = JsonSerializer.Deserialize<JsonElement>("""
            {"name": "Ana", "vip": true, "off": false, "count": 3, "price": 12.50, "huge": 1e300, "none": null,
             "address": {"city": "Porto"}, "tags": ["a", 1, null]}
            """);

        var data = RenderData.FromJson(json);

        Assert.Equal("Ana", data["name"]);
        Assert.Equal(true, data["vip"]);
        Assert.Equal(false, data["off"]);
        Assert.Equal(3L, data["count"]);
        Assert.Equal(12.50m, data["price"]);
        Assert.Equal(1e300, data["huge"]);
        Assert.Null(data["none"]);
        var address = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(data["address"]);
        Assert.Equal("Porto", address["city"]);
        var tags = Assert.IsAssignableFrom<IReadOnlyList<object?>>(data["tags"]);
        Assert.Equal(["a", 1L, null], tags);
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    public void Anything_but_an_object_is_rejected(string json)
    {
        Assert.Throws<ArgumentException>(() => RenderData.FromJson(JsonSerializer.Deserialize<JsonElement>(json)));
    }
}
