using System.Text;
using System.Text.Json;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Json;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests.Json;

public class ProtoJsonReaderTests
{
    private static ModelConfig Read(string json) => ProtoJson.Read(json, ModelConfig.Parser);

    private static ProtoJsonException Fails(string json) => Assert.Throws<ProtoJsonException>(() => Read(json));

    [Fact]
    public void Lower_camel_case_names_and_proto_names_both_read()
    {
        var config = Read("""
            {"name":"m","maxBatchSize":4,"max_batch_size":8,
             "input":[{"name":"I","dataType":"TYPE_FP32","isShapeTensor":true,"allow_ragged_batch":true}],
             "modelTransactionPolicy":{"decoupled":true},
             "dynamicBatching":{"maxQueueDelayMicroseconds":100,"defaultQueuePolicy":{"timeoutAction":"DELAY"}}}
            """);

        Assert.Equal(8, config.MaxBatchSize); // the last of two spellings wins
        Assert.Equal(DataType.TypeFp32, config.Input[0].DataType);
        Assert.True(config.Input[0].IsShapeTensor);
        Assert.True(config.Input[0].AllowRaggedBatch);
        Assert.True(config.ModelTransactionPolicy.Decoupled);
        Assert.Equal(100UL, config.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(ModelQueuePolicy.Types.TimeoutAction.Delay, config.DynamicBatching.DefaultQueuePolicy.TimeoutAction);
    }

    [Fact]
    public void Sixty_four_bit_values_read_from_strings_and_from_exact_numbers()
    {
        var config = Read("""
            {"input":[{"dims":["-1","9007199254740993",9007199254740993,16]}],
             "dynamic_batching":{"max_queue_delay_microseconds":"18446744073709551615",
               "priority_queue_policy":{"18446744073709551615":{"default_timeout_microseconds":"100"}}},
             "max_batch_size":"8","version_policy":{"latest":{"num_versions":"2"}}}
            """);

        Assert.Equal([-1L, SampleConfigs.BeyondDouble, SampleConfigs.BeyondDouble, 16L], config.Input[0].Dims);
        Assert.Equal(ulong.MaxValue, config.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(100UL, config.DynamicBatching.PriorityQueuePolicy[ulong.MaxValue].DefaultTimeoutMicroseconds);
        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal(2U, config.VersionPolicy.Latest.NumVersions);
    }

    [Fact]
    public void Whole_numbers_in_other_notations_are_integers()
    {
        var config = Read("""{"max_batch_size":8.0,"input":[{"dims":[1e2,-3E0]}]}""");
        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal([100L, -3L], config.Input[0].Dims);
    }

    [Fact]
    public void Enums_read_by_name_in_any_case_by_number_and_by_number_in_a_string()
    {
        var config = Read("""
            {"input":[{"data_type":"type_fp16"},{"data_type":11},{"data_type":"12"},{"data_type":99},{"data_type":"Type_Bf16"}]}
            """);

        Assert.Equal([DataType.TypeFp16, DataType.TypeFp32, DataType.TypeFp64, (DataType)99, DataType.TypeBf16], config.Input.Select(i => i.DataType));
    }

    [Fact]
    public void Null_leaves_a_field_unset()
    {
        var config = Read("""
            {"name":null,"input":null,"parameters":null,"dynamic_batching":null,"sequence_batching":{},"max_batch_size":null}
            """);

        Assert.Equal("", config.Name);
        Assert.Empty(config.Input);
        Assert.Equal(ModelConfig.SchedulingChoiceOneofCase.SequenceBatching, config.SchedulingChoiceCase);
    }

    [Fact]
    public void Legacy_forms_protobuf_accepts_read_too()
    {
        // A single value for a repeated field, nested arrays flattened, null elements as
        // defaults, and bools as strings: protobuf's parser takes all of them in the mode
        // Triton uses.
        var config = Read("""
            {"input":{"name":"only","dims":[[1,2],[3,[4]]]},
             "dynamic_batching":{"preferred_batch_size":[4,null,8],"preserve_ordering":"yes"},
             "model_transaction_policy":{"decoupled":"true"},
             "output":[null]}
            """);

        Assert.Equal("only", Assert.Single(config.Input).Name);
        Assert.Equal([1L, 2L, 3L, 4L], config.Input[0].Dims);
        Assert.Equal([4, 0, 8], config.DynamicBatching.PreferredBatchSize);
        Assert.True(config.DynamicBatching.PreserveOrdering);
        Assert.True(config.ModelTransactionPolicy.Decoupled);
        Assert.Equal(new ModelOutput(), Assert.Single(config.Output));
    }

    [Fact]
    public void Floats_read_from_numbers_strings_and_special_names()
    {
        var config = Read("""
            {"sequence_batching":{"control_input":[{"control":[{"fp32_false_true":[0.5,"1.5","NaN","Infinity","-Infinity",1e-7]}]}],
             "direct":{"minimum_slot_utilization":"0.25"}}}
            """);

        var values = config.SequenceBatching.ControlInput[0].Control[0].Fp32FalseTrue;
        Assert.Equal(0.5f, values[0]);
        Assert.Equal(1.5f, values[1]);
        Assert.True(float.IsNaN(values[2]));
        Assert.Equal(float.PositiveInfinity, values[3]);
        Assert.Equal(float.NegativeInfinity, values[4]);
        Assert.Equal(1e-7f, values[5]);
        Assert.Equal(0.25f, config.SequenceBatching.Direct.MinimumSlotUtilization);
    }

    [Fact]
    public void Bytes_read_standard_and_url_safe_base64_with_or_without_padding()
    {
        foreach (string text in new[] { "+/8=", "-_8", "+/8", "-_8=" })
        {
            var message = ProtoJson.Read($$"""{"f_bytes":"{{text}}"}""", Scalars.Parser);
            Assert.Equal(new byte[] { 0xFB, 0xFF }, message.FBytes.ToByteArray());
        }

        var error = Assert.Throws<ProtoJsonException>(() => ProtoJson.Read("""{"r_bytes":["AA==","A*=="]}""", Scalars.Parser));
        Assert.Equal("r_bytes[1]", error.JsonPath);
        Assert.Contains("base64", error.Problem);
    }

    [Fact]
    public void Map_keys_of_every_type_read_from_strings()
    {
        var message = ProtoJson.Read("""
            {"m_int32":{"-4":"a"},"m_bool":{"true":{"f_int32":1},"false":null},"m_sint64":{"-9223372036854775808":"GREEN"},"m_fixed32":{"4294967295":"AQ=="}}
            """, Scalars.Parser);

        Assert.Equal("a", message.MInt32[-4]);
        Assert.Equal(1, message.MBool[true].FInt32);
        Assert.Equal(new Scalars(), message.MBool[false]);
        Assert.Equal(Color.Green, message.MSint64[long.MinValue]);
        Assert.Equal(new byte[] { 1 }, message.MFixed32[uint.MaxValue].ToByteArray());
    }

    [Fact]
    public void Unknown_field_is_an_error_that_names_its_path()
    {
        var error = Fails("""{"name":"m","input":[{"name":"a"},{"name":"b","bogus":1}]}""");
        Assert.Equal("input[1].bogus", error.JsonPath);
        Assert.Contains("unknown field \"bogus\"", error.Message);
        Assert.StartsWith("input[1].bogus: ", error.Message);
        Assert.Contains("inference.ModelInput", error.Message);

        Assert.Equal("bogus", Fails("""{"bogus":null}""").JsonPath);
    }

    [Fact]
    public void A_string_where_a_number_is_expected_names_its_path()
    {
        var error = Fails("""{"max_batch_size":"eight"}""");
        Assert.Equal("max_batch_size", error.JsonPath);
        Assert.Contains("\"eight\" is not an integer", error.Problem);

        Assert.Equal("input[0].dims[1]", Fails("""{"input":[{"dims":[1," 2"]}]}""").JsonPath);
        Assert.Equal("input[0].dims[0]", Fails("""{"input":[{"dims":[true]}]}""").JsonPath);
        Assert.Contains("expected a string", Fails("""{"name":5}""").Problem);
        Assert.Contains("expected a JSON object", Fails("""{"dynamic_batching":[]}""").Problem);
    }

    [Fact]
    public void Numbers_out_of_range_name_their_path()
    {
        var error = Fails("""{"dynamic_batching":{"preferred_batch_size":[4,2147483648]}}""");
        Assert.Equal("dynamic_batching.preferred_batch_size[1]", error.JsonPath);
        Assert.Contains("out of range for int32", error.Problem);

        Assert.Contains("out of range for int32", Fails("""{"max_batch_size":"-2147483649"}""").Problem);
        Assert.Equal(int.MinValue, Read("""{"max_batch_size":-2147483648}""").MaxBatchSize);
        Assert.Contains("out of range for uint32", Fails("""{"instance_group":[{"rate_limiter":{"priority":4294967296}}]}""").Problem);
        Assert.Contains("out of range for uint64", Fails("""{"dynamic_batching":{"priority_levels":-1}}""").Problem);
        Assert.Contains("out of range for uint64", Fails("""{"dynamic_batching":{"priority_levels":"18446744073709551616"}}""").Problem);
        Assert.Contains("out of range for int64", Fails("""{"input":[{"dims":[9223372036854775808]}]}""").Problem);
        Assert.Contains("out of range for int64", Fails("""{"input":[{"dims":[1e300]}]}""").Problem);
        Assert.Contains("not an integer", Fails("""{"max_batch_size":1.5}""").Problem);
        Assert.Contains("out of range for float", Fails("""{"sequence_batching":{"direct":{"minimum_slot_utilization":1e39}}}""").Problem);
        Assert.Contains("out of range for int32", Fails("""{"input":[{"data_type":4294967296}]}""").Problem);

        var key = Fails("""{"dynamic_batching":{"priority_queue_policy":{"x1":{}}}}""");
        Assert.Equal("dynamic_batching.priority_queue_policy[\"x1\"]", key.JsonPath);
        Assert.Contains("not a decimal uint64", key.Problem);
    }

    [Fact]
    public void Unknown_enum_name_names_its_path()
    {
        var error = Fails("""{"input":[{"name":"a","data_type":"TYPE_FP33"}]}""");
        Assert.Equal("input[0].data_type", error.JsonPath);
        Assert.Contains("unknown enum value \"TYPE_FP33\" for inference.DataType", error.Problem);
    }

    [Fact]
    public void Malformed_json_is_reported_as_such()
    {
        foreach (string json in new[] { "", "{", "{\"name\":\"m\",}", "{\"name\":'m'}", "{\"name\":\"m\"} x", "{\"name\":\"m\"}{}", "{\"name\" \"m\"}", "{\"input\":[}" })
        {
            var error = Fails(json);
            Assert.Contains("malformed JSON", error.Problem);
        }

        Assert.Equal("name", Fails("{\"name\":\"m\",\"name\":tru}").JsonPath);
        Assert.Contains("expected a JSON object", Fails("[]").Problem);
        Assert.Equal("", Fails("null").JsonPath);
    }

    [Fact]
    public void Nesting_deeper_than_the_bound_is_rejected_and_the_bound_itself_is_accepted()
    {
        // Root object, input array and input object are three levels; the rest are arrays.
        static string Nested(int arrays) =>
            "{\"input\":[{\"dims\":" + new string('[', arrays) + "1" + new string(']', arrays) + "}]}";

        Assert.Equal([1L], Read(Nested(ProtoJson.MaxDepth - 3)).Input[0].Dims);

        var error = Fails(Nested(ProtoJson.MaxDepth - 2));
        Assert.Contains("nested more than 100 levels", error.Problem);
        Assert.Equal("input[0].dims", error.JsonPath);

        var bomb = Fails(Nested(100_000));
        Assert.Contains("nested more than 100 levels", bomb.Problem);
    }

    [Fact]
    public void Two_members_of_one_oneof_or_a_repeated_map_key_are_errors()
    {
        var error = Fails("""{"dynamic_batching":{},"sequence_batching":{}}""");
        Assert.Equal("sequence_batching", error.JsonPath);
        Assert.Contains("scheduling_choice", error.Problem);
        Assert.Contains("dynamic_batching", error.Problem);

        Assert.Equal(
            ModelConfig.SchedulingChoiceOneofCase.SequenceBatching,
            Read("""{"dynamic_batching":null,"sequence_batching":{}}""").SchedulingChoiceCase);

        var key = Fails("""{"parameters":{"a":{},"a":{}}}""");
        Assert.Equal("parameters[\"a\"]", key.JsonPath);
        Assert.Contains("more than once", key.Problem);
    }

    [Fact]
    public void A_message_can_be_read_out_of_a_larger_document()
    {
        var json = Encoding.UTF8.GetBytes("""{"before":1,"config":{"name":"m","max_batch_size":2},"after":[true]}""");
        var reader = new Utf8JsonReader(json);
        ModelConfig? config = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("config"))
            {
                reader.Read();
                config = ProtoJson.Read(ref reader, ModelConfig.Parser);
                Assert.Equal(JsonTokenType.EndObject, reader.TokenType);
            }
        }

        Assert.Equal(new ModelConfig { Name = "m", MaxBatchSize = 2 }, config);
    }

    [Fact]
    public void Repeated_and_message_fields_given_twice_append_and_merge()
    {
        var config = Read("""
            {"input":[{"name":"a"}],"input":[{"name":"b"}],
             "dynamic_batching":{"preserve_ordering":true,"dynamic_batching":null},
             "model_transaction_policy":{"decoupled":true},"model_transaction_policy":{}}
            """.Replace("\"dynamic_batching\":null", "\"max_queue_delay_microseconds\":5", StringComparison.Ordinal));

        Assert.Equal(["a", "b"], config.Input.Select(i => i.Name));
        Assert.True(config.DynamicBatching.PreserveOrdering);
        Assert.True(config.ModelTransactionPolicy.Decoupled);
    }

    [Fact]
    public void Bool_strings_other_than_protobufs_words_are_rejected()
    {
        Assert.True(Read("""{"model_transaction_policy":{"decoupled":"T"}}""").ModelTransactionPolicy.Decoupled);
        Assert.False(Read("""{"model_transaction_policy":{"decoupled":"no"}}""").ModelTransactionPolicy.Decoupled);
        var error = Fails("""{"model_transaction_policy":{"decoupled":"maybe"}}""");
        Assert.Equal("model_transaction_policy.decoupled", error.JsonPath);
        Assert.Contains("expected true or false", Fails("""{"model_transaction_policy":{"decoupled":1}}""").Problem);
    }

    [Fact]
    public void Wrong_types_for_bytes_strings_and_maps_are_errors()
    {
        Assert.Contains("expected a base64 string", Assert.Throws<ProtoJsonException>(() => ProtoJson.Read("""{"f_bytes":1}""", Scalars.Parser)).Problem);
        Assert.Contains("expected a JSON object (a map)", Fails("""{"parameters":[]}""").Problem);
        Assert.Contains("not a bool", Assert.Throws<ProtoJsonException>(() => ProtoJson.Read("""{"m_bool":{"yes":{}}}""", Scalars.Parser)).Problem);
        Assert.IsType<ProtoJsonException>(Assert.ThrowsAny<Exception>(() => ProtoJson.Read("""{"name":"\uD800"}""", ModelConfig.Parser)));
    }
}
