// Parses an ONNX ModelProto from the bytes of a whole file, checking wire types and lengths.
// Follows onnx.proto3 (ONNX 1.17): ModelProto ir_version = 1, producer_name = 2, producer_version = 3,
// graph = 7, opset_import = 8; OperatorSetIdProto domain = 1, version = 2. Unknown fields are skipped.
package dev.lora4j.onnx;

import dev.lora4j.Lora4jException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One use per file; {@link TensorReader} reads the TensorProtos. */
final class OnnxReader {
    private final byte[] file;
    private final String source;
    private final ProtoReader r;
    private final TensorReader tensors;
    /** Where the reader is, for error messages ("ModelProto > graph 'torch_jit' initializer #3"). */
    private String where = "ModelProto";

    private OnnxReader(byte[] file, String source) {
        this.file = file;
        this.source = source;
        this.r = new ProtoReader(file);
        this.tensors = new TensorReader(r, file, source);
    }

    static OnnxModel read(byte[] file, String source) {
        OnnxReader reader = new OnnxReader(file, source);
        try {
            OnnxModel model = reader.model();
            if (reader.r.truncation() != null) throw new IOException(reader.r.truncation());
            return model;
        } catch (IOException e) {
            throw new Lora4jException(source + ": not a valid ONNX file: " + e.getMessage() + " (in " + reader.where + ")", e);
        }
    }

    private OnnxModel model() throws IOException {
        long irVersion = 0;
        String producer = "", producerVersion = "";
        Map<String, Long> opsets = new LinkedHashMap<>();
        OnnxGraph graph = null;
        for (int f; (f = r.next()) != 0; ) {
            switch (f) {
                case 1 -> irVersion = r.int64("ModelProto.ir_version");
                case 2 -> producer = r.string("ModelProto.producer_name");
                case 3 -> producerVersion = r.string("ModelProto.producer_version");
                case 7 -> graph = graph("ModelProto.graph");
                case 8 -> opset(opsets);
                default -> r.skip();
            }
        }
        if (graph == null) throw new Lora4jException(source + ": not an ONNX model: it has no graph (ModelProto field 7)");
        return new OnnxModel(source, file, irVersion, opsets, producer, producerVersion, graph);
    }

    private void opset(Map<String, Long> opsets) throws IOException {
        int token = r.enter("ModelProto.opset_import");
        String domain = "";
        long version = 0;
        for (int f; (f = r.next()) != 0; ) {
            switch (f) {
                case 1 -> domain = r.string("OperatorSetIdProto.domain");
                case 2 -> version = r.int64("OperatorSetIdProto.version");
                default -> r.skip();
            }
        }
        r.exit(token);
        opsets.put(domain.equals("ai.onnx") ? "" : domain, version);
    }

    /** GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12, sparse_initializer = 15. */
    private OnnxGraph graph(String field) throws IOException {
        String outer = where;
        int token = r.enter(field);
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        List<OnnxTensor> initializers = new ArrayList<>();
        List<OnnxValueInfo> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        for (int f; (f = r.next()) != 0; ) {
            String here = outer + " > graph '" + name + "'";
            switch (f) {
                case 1 -> {
                    where = here + " node #" + nodes.size();
                    nodes.add(node());
                }
                case 2 -> name = r.string("GraphProto.name");
                case 5 -> {
                    where = here + " initializer #" + initializers.size();
                    initializers.add(tensors.read("GraphProto.initializer", where));
                }
                case 11 -> inputs.add(valueInfo("GraphProto.input"));
                case 12 -> outputs.add(valueInfo("GraphProto.output"));
                case 15 -> throw new Lora4jException(source + ": graph '" + name + "' has sparse initializers, which are not supported");
                default -> r.skip();
            }
        }
        r.exit(token);
        where = outer;
        try {
            return new OnnxGraph(name, nodes, initializers, inputs, outputs);
        } catch (IllegalArgumentException e) {
            throw new Lora4jException(source + ": graph '" + name + "': " + e.getMessage(), e);
        }
    }

    private OnnxNode node() throws IOException {
        int token = r.enter("GraphProto.node");
        String name = "", opType = "", domain = "";
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        for (int f; (f = r.next()) != 0; ) {
            switch (f) {
                case 1 -> inputs.add(r.string("NodeProto.input"));
                case 2 -> outputs.add(r.string("NodeProto.output"));
                case 3 -> name = r.string("NodeProto.name");
                case 4 -> opType = r.string("NodeProto.op_type");
                case 5 -> {
                    OnnxAttribute a = attribute();
                    attributes.put(a.name(), a);
                }
                case 7 -> domain = r.string("NodeProto.domain");
                default -> r.skip();
            }
        }
        r.exit(token);
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    /** AttributeProto; the value field is the one {@code type} names (proto3 omits zero defaults). */
    private OnnxAttribute attribute() throws IOException {
        int token = r.enter("NodeProto.attribute");
        String name = "";
        int typeCode = 0;
        Object single = null;
        List<Float> floats = new ArrayList<>();
        List<Long> ints = new ArrayList<>();
        List<Object> many = new ArrayList<>();
        for (int f; (f = r.next()) != 0; ) {
            switch (f) {
                case 1 -> name = r.string("AttributeProto.name");
                case 20 -> typeCode = r.int32("AttributeProto.type");
                case 2 -> single = r.float32("AttributeProto.f");
                case 3 -> single = r.int64("AttributeProto.i");
                case 4 -> single = bytes(r.bytes("AttributeProto.s"));
                case 5 -> single = tensors.read("AttributeProto.t", where + " attribute '" + name + "'");
                case 6 -> single = graph("AttributeProto.g");
                case 7 -> r.float32s("AttributeProto.floats", floats);
                case 8 -> r.int64s("AttributeProto.ints", ints);
                case 9 -> many.add(bytes(r.bytes("AttributeProto.strings")));
                case 10 -> many.add(tensors.read("AttributeProto.tensors", where + " attribute '" + name + "'"));
                case 11 -> many.add(graph("AttributeProto.graphs"));
                default -> r.skip();
            }
        }
        r.exit(token);
        OnnxAttribute.Type type = OnnxAttribute.Type.fromCode(typeCode);
        Object value = switch (type) {
            case FLOAT -> single instanceof Float v ? v : 0f;
            case INT -> single instanceof Long v ? v : 0L;
            case STRING -> single instanceof byte[] v ? v : new byte[0];
            case TENSOR -> single instanceof OnnxTensor v ? v : null;
            case GRAPH -> single instanceof OnnxGraph v ? v : null;
            case FLOATS -> floatArray(floats);
            case INTS -> ints.stream().mapToLong(Long::longValue).toArray();
            case STRINGS -> listOf(byte[].class, many, name, type);
            case TENSORS -> listOf(OnnxTensor.class, many, name, type);
            case GRAPHS -> listOf(OnnxGraph.class, many, name, type);
            case UNDEFINED -> throw new Lora4jException(source + ": " + where + ": attribute '" + name
                    + "' has no type (AttributeProto.type, required since IR version 2)");
            default -> null;
        };
        if ((type == OnnxAttribute.Type.TENSOR || type == OnnxAttribute.Type.GRAPH) && value == null) {
            throw new Lora4jException(source + ": " + where + ": attribute '" + name + "' is a " + type + " without a value");
        }
        return new OnnxAttribute(name, type, value);
    }

    /** The values of a list attribute, which must all be of the one kind its type names (strings, tensors or graphs). */
    private List<Object> listOf(Class<?> kind, List<Object> values, String name, OnnxAttribute.Type type) {
        if (!values.stream().allMatch(kind::isInstance)) {
            throw new Lora4jException(source + ": " + where + ": attribute '" + name + "' is " + type
                    + " but also holds values of another type (strings, tensors and graphs are mixed)");
        }
        return List.copyOf(values);
    }

    /** ValueInfoProto name = 1, type = 2; TypeProto tensor_type = 1; TypeProto.Tensor elem_type = 1, shape = 2. */
    private OnnxValueInfo valueInfo(String field) throws IOException {
        int token = r.enter(field);
        String name = "";
        OnnxDataType elemType = null;
        List<String> dims = new ArrayList<>();
        for (int f; (f = r.next()) != 0; ) {
            if (f == 1) {
                name = r.string("ValueInfoProto.name");
            } else if (f == 2) {
                int type = r.enter("ValueInfoProto.type");
                for (int g; (g = r.next()) != 0; ) {
                    if (g == 1) elemType = tensorType(dims);
                    else r.skip();
                }
                r.exit(type);
            } else {
                r.skip();
            }
        }
        r.exit(token);
        return new OnnxValueInfo(name, elemType, dims);
    }

    private OnnxDataType tensorType(List<String> dims) throws IOException {
        int token = r.enter("TypeProto.tensor_type");
        int code = 0;
        for (int f; (f = r.next()) != 0; ) {
            if (f == 1) {
                code = r.int32("TypeProto.Tensor.elem_type");
            } else if (f == 2) {
                int shape = r.enter("TypeProto.Tensor.shape");
                for (int g; (g = r.next()) != 0; ) {
                    if (g == 1) dims.add(dimension());
                    else r.skip();
                }
                r.exit(shape);
            } else {
                r.skip();
            }
        }
        r.exit(token);
        return OnnxDataType.fromCode(code).orElse(null);
    }

    private String dimension() throws IOException {
        int token = r.enter("TensorShapeProto.dim");
        String dim = "";
        for (int f; (f = r.next()) != 0; ) {
            switch (f) {
                case 1 -> dim = Long.toString(r.int64("TensorShapeProto.Dimension.dim_value"));
                case 2 -> dim = r.string("TensorShapeProto.Dimension.dim_param");
                default -> r.skip();
            }
        }
        r.exit(token);
        return dim;
    }

    private byte[] bytes(ProtoReader.Span span) {
        byte[] b = new byte[span.length()];
        System.arraycopy(file, span.offset(), b, 0, b.length);
        return b;
    }

    private static float[] floatArray(List<Float> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i);
        return out;
    }
}
