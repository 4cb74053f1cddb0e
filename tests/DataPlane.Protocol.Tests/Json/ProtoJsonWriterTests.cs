using System.Text;
using System.Text.Json;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Json;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests.Json;

public class ProtoJsonWriterTests
{
    private static string Text(IMessage message) => Encoding.UTF8.GetString(ProtoJson.Write(message));

    [Fact]
    public void Simple_model_prints_every_field_without_presence_in_field_number_order()
    {
        // Written from the printer's rules, not from our output: proto names; sorted by field
        // number (backend = 17 after model_warmup = 16, runtime = 25 last); scalars with their
        // defaults; empty repeated as [] and maps as {}; unset messages (version_policy,
        // optimization, reshape, ...) and unset oneof members left out; the set
        // model_transaction_policy printed with its default.
        const string Input = "\"data_type\":\"TYPE_INT32\",\"format\":\"FORMAT_NONE\",\"dims\":[16]," +
            "\"is_shape_tensor\":false,\"allow_ragged_batch\":false,\"optional\":false,\"is_non_linear_format_io\":false}";
        const string Output = "\"data_type\":\"TYPE_INT32\",\"dims\":[16],\"label_filename\":\"\"," +
            "\"is_shape_tensor\":false,\"is_non_linear_format_io\":false}";
        string expected =
            "{\"name\":\"simple\",\"platform\":\"tensorflow_graphdef\",\"max_batch_size\":8," +
            "\"input\":[{\"name\":\"INPUT0\"," + Input + ",{\"name\":\"INPUT1\"," + Input + "]," +
            "\"output\":[{\"name\":\"OUTPUT0\"," + Output + ",{\"name\":\"OUTPUT1\"," + Output + "]," +
            "\"instance_group\":[],\"default_model_filename\":\"\",\"cc_model_filenames\":{},\"metric_tags\":{}," +
            "\"parameters\":{},\"model_warmup\":[],\"backend\":\"\"," +
            "\"model_transaction_policy\":{\"decoupled\":false}," +
            "\"batch_input\":[],\"batch_output\":[],\"runtime\":\"\"}";

        Assert.Equal(expected, Text(SampleConfigs.Simple()));
        Assert.Equal(expected, Encoding.UTF8.GetString(TritonModelConfigJson.Write(SampleConfigs.Simple())));
    }

    [Fact]
    public void Unset_transaction_policy_is_left_out_and_an_all_default_config_still_prints_its_scalars()
    {
        var config = SampleConfigs.Simple();
        config.ModelTransactionPolicy = null;
        Assert.DoesNotContain("model_transaction_policy", Text(config));

        Assert.Equal(
            "{\"name\":\"\",\"platform\":\"\",\"max_batch_size\":0,\"input\":[],\"output\":[],\"instance_group\":[]," +
            "\"default_model_filename\":\"\",\"cc_model_filenames\":{},\"metric_tags\":{},\"parameters\":{}," +
            "\"model_warmup\":[],\"backend\":\"\",\"batch_input\":[],\"batch_output\":[],\"runtime\":\"\"}",
            Text(new ModelConfig()));
    }

    [Fact]
    public void Triton_returns_an_empty_body_for_an_all_default_config()
    {
        Assert.Empty(TritonModelConfigJson.Write(new ModelConfig()));
        Assert.NotEmpty(TritonModelConfigJson.Write(new ModelConfig { MaxBatchSize = 1 }));
    }

    [Fact]
    public void Test_message_orders_fields_by_number_and_prints_every_scalar_kind()
    {
        var message = new Scalars
        {
            FDouble = 0.30000000000000004,
            FFloat = -2.5f,
            FInt64 = SampleConfigs.BeyondDouble,
            FUint64 = ulong.MaxValue,
            FInt32 = int.MinValue,
            FFixed64 = 1UL << 63,
            FFixed32 = uint.MaxValue,
            FBool = true,
            FString = "s",
            Late = "late",
            FBytes = ByteString.CopyFromUtf8("hi?>"),
            FUint32 = 7,
            FEnum = Color.Green,
            FSfixed32 = -3,
            FSfixed64 = long.MinValue,
            FSint32 = -5,
            FSint64 = -6,
            FOptional = 0,
            RSint32 = { -1, 2 },
            RSfixed64 = { -9 },
            RFixed32 = { 4 },
            REnum = { Color.Red, (Color)7 },
            RString = { "a", "" },
            RBytes = { ByteString.CopyFrom(0xFB, 0xFF) },
            MInt32 = { [-4] = "minus four" },
            MSint64 = { [-3] = Color.Red },
            MFixed32 = { [5] = ByteString.CopyFrom(1) },
            CString = "",
        };

        Assert.Equal(
            "{\"f_double\":0.30000000000000004,\"f_float\":-2.5,\"f_int64\":9007199254740993," +
            "\"f_uint64\":18446744073709551615,\"f_int32\":-2147483648,\"f_fixed64\":9223372036854775808," +
            "\"f_fixed32\":4294967295,\"f_bool\":true,\"f_string\":\"s\",\"late\":\"late\",\"f_bytes\":\"aGk/Pg==\"," +
            "\"f_uint32\":7,\"f_enum\":\"GREEN\",\"f_sfixed32\":-3,\"f_sfixed64\":-9223372036854775808," +
            "\"f_sint32\":-5,\"f_sint64\":-6,\"f_optional\":0,\"r_sint32\":[-1,2],\"r_sfixed64\":[-9]," +
            "\"r_fixed32\":[4],\"r_enum\":[\"RED\",7],\"r_string\":[\"a\",\"\"],\"r_bytes\":[\"+/8=\"]," +
            "\"m_int32\":{\"-4\":\"minus four\"},\"m_bool\":{},\"m_sint64\":{\"-3\":\"RED\"},\"m_fixed32\":{\"5\":\"AQ==\"}," +
            "\"c_string\":\"\"}",
            Text(message));
    }

    [Fact]
    public void Unset_optional_and_oneof_fields_and_messages_are_left_out_but_set_ones_print_even_when_default()
    {
        string unset = Text(new Scalars());
        Assert.DoesNotContain("f_optional", unset);
        Assert.DoesNotContain("child", unset);
        Assert.DoesNotContain("c_string", unset);
        Assert.DoesNotContain("c_message", unset);

        var set = new Scalars { Child = new Scalars(), CMessage = new Scalars(), MBool = { [false] = new Scalars() } };
        using var document = JsonDocument.Parse(ProtoJson.Write(set));
        var root = document.RootElement;
        Assert.Equal(0, root.GetProperty("child").GetProperty("f_int32").GetInt32());
        Assert.Equal("COLOR_UNSET", root.GetProperty("c_message").GetProperty("f_enum").GetString());
        Assert.Equal(0, root.GetProperty("m_bool").GetProperty("false").GetProperty("f_sint64").GetInt64());
    }

    [Fact]
    public void Sixty_four_bit_values_are_exact_json_numbers_and_map_keys_are_strings()
    {
        string json = Text(SampleConfigs.Rich());
        Assert.Contains("\"version_policy\":{\"specific\":{\"versions\":[1,9007199254740993,-1]}}", json);
        Assert.Contains("\"max_queue_delay_microseconds\":18446744073709551615", json);
        Assert.Contains(
            "\"priority_queue_policy\":{\"1\":{\"timeout_action\":\"REJECT\",\"default_timeout_microseconds\":9007199254740993," +
            "\"allow_timeout_override\":true,\"max_queue_size\":0},\"1152921504606846976\":{\"timeout_action\":\"REJECT\"," +
            "\"default_timeout_microseconds\":0,\"allow_timeout_override\":false,\"max_queue_size\":0}}",
            json);
        Assert.Contains("\"secondary_devices\":[{\"kind\":\"KIND_NVDLA\",\"device_id\":9007199254740993}]", json);
        Assert.Contains("\"gather_kernel_buffer_threshold\":4294967295", json);
    }

    [Fact]
    public void Triton_leaves_three_sixty_four_bit_fields_quoted_and_fixes_the_rest()
    {
        string rich = Encoding.UTF8.GetString(TritonModelConfigJson.Write(SampleConfigs.Rich()));
        Assert.Contains("\"device_id\":\"9007199254740993\"", rich);
        Assert.Contains("\"input\":{\"INPUT0\":{\"dim\":[\"16\",\"9007199254740993\"]}}", rich);
        Assert.Contains("\"graph_lower_bound\":{\"batch_size\":1,\"input\":{\"INPUT0\":{\"dim\":[\"1\"]}}}", rich);
        Assert.Contains("\"versions\":[1,9007199254740993,-1]", rich);
        Assert.Contains("\"dims\":[-1,3,224,224]", rich);

        string sequence = Encoding.UTF8.GetString(TritonModelConfigJson.Write(SampleConfigs.Sequence()));
        Assert.Contains("\"initial_state\":[{\"data_type\":\"TYPE_INT32\",\"dims\":[\"1\",\"9007199254740993\"],\"zero_data\":false,\"name\":\"zeros\"}]", sequence);
        Assert.Contains("\"dims\":[-1],\"initial_state\"", sequence);
        Assert.Contains("\"max_sequence_idle_microseconds\":5000000", sequence);

        // The generic writer prints them all as numbers.
        Assert.Contains("\"dims\":[1,9007199254740993]", Text(SampleConfigs.Sequence()));
    }

    [Fact]
    public void Floats_print_as_triton_prints_them()
    {
        // protobuf prints %.6g (or %.9g when that does not read back), RapidJSON reprints:
        // integers stay integers, 1e6 becomes 1000000.0, small values use its exponent form.
        string sequence = Text(SampleConfigs.Sequence());
        Assert.Contains("\"fp32_false_true\":[0,1,0.1,0.333333343,1000000.0,1e-7,\"NaN\",\"Infinity\",\"-Infinity\",-2.5]", sequence);

        string rich = Text(SampleConfigs.Rich());
        Assert.Contains("\"buckets\":[0.005,2.5,100,1e21]", rich);

        string request = Text(SampleConfigs.Request());
        Assert.Contains("\"fp64_contents\":[0.30000000000000004,0,1.7976931348623157e308,5e-324]", request);
        Assert.Contains("\"ratio\":{\"double_param\":0.1}", request);

        // 1e20f is 100000002004087734272, but protobuf prints "1e+20", which RapidJSON reads as the double 1e20.
        var direct = new ModelConfig { SequenceBatching = new() { Direct = new() { MinimumSlotUtilization = 1e20f } } };
        Assert.Contains("\"minimum_slot_utilization\":100000000000000000000.0", Text(direct));
        direct.SequenceBatching.Direct.MinimumSlotUtilization = 3.4028235e38f;
        Assert.Contains("\"minimum_slot_utilization\":3.40282347e38", Text(direct));
        direct.SequenceBatching.Direct.MinimumSlotUtilization = 123456.7f;
        Assert.Contains("\"minimum_slot_utilization\":123456.703", Text(direct));
    }

    [Fact]
    public void Bytes_are_standard_base64_and_strings_escape_only_quotes_backslashes_and_controls()
    {
        string request = Text(SampleConfigs.Request());
        Assert.Contains("\"raw_input_contents\":[\"AAEC//4=\",\"\",\"YWI/Pg==\"]", request);

        var config = new ModelConfig { Name = "q\"b\\s/n\n t\t c\u0001 d\u007f é 😀 <&>+" };
        Assert.Contains("\"name\":\"q\\\"b\\\\s/n\\n t\\t c\\u0001 d\u007f é 😀 <&>+\"", Text(config));
    }

    [Fact]
    public void Enum_values_without_a_name_print_as_numbers()
    {
        string json = Text(SampleConfigs.Rich());
        Assert.Contains("{\"name\":\"\",\"data_type\":99,\"format\":\"FORMAT_NONE\",\"dims\":[]", json);
    }

    [Fact]
    public void Unknown_fields_on_the_wire_are_skipped()
    {
        var simple = SampleConfigs.Simple();
        var withUnknown = new MemoryStream();
        var output = new CodedOutputStream(withUnknown);
        output.WriteTag(99, WireFormat.WireType.LengthDelimited);
        output.WriteString("from a newer Triton");
        output.WriteTag(98, WireFormat.WireType.Varint);
        output.WriteInt32(5);
        output.Flush();
        simple.WriteTo(withUnknown);
        var parsed = ModelConfig.Parser.ParseFrom(withUnknown.ToArray());

        Assert.NotEqual(simple.CalculateSize(), parsed.CalculateSize());
        Assert.Equal(Text(simple), Text(parsed));
    }

    [Fact]
    public void Map_entries_keep_insertion_order()
    {
        var config = new ModelConfig { MetricTags = { ["z"] = "1", ["a"] = "2", ["m"] = "3" } };
        Assert.Contains("\"metric_tags\":{\"z\":\"1\",\"a\":\"2\",\"m\":\"3\"}", Text(config));
    }

    [Fact]
    public void A_message_can_be_embedded_in_a_larger_document_and_indented_output_keeps_number_text()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("config");
            ProtoJson.Write(writer, SampleConfigs.Simple());
            writer.WriteNumber("after", 1);
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        Assert.Equal(8, document.RootElement.GetProperty("config").GetProperty("max_batch_size").GetInt32());
        Assert.Equal(1, document.RootElement.GetProperty("after").GetInt32());
        Assert.StartsWith("{\"config\":{\"name\":\"simple\"", Encoding.UTF8.GetString(buffer.WrittenSpan));

        string indented = Encoding.UTF8.GetString(ProtoJson.Write(SampleConfigs.Sequence(), indented: true));
        Assert.Contains("\n", indented);
        Assert.Contains("1000000.0", indented);
        Assert.Contains("0.333333343", indented);
        Assert.Equal(SampleConfigs.Sequence(), ProtoJson.Read(Encoding.UTF8.GetBytes(indented), ModelConfig.Parser));
    }
}
