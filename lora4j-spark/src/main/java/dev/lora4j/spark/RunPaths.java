package dev.lora4j.spark;

import dev.lora4j.cli.DistributedTraining;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The locations a train command's flags name ({@code --model}, {@code --data}, {@code --eval-data}, {@code --out}), as
 * given: a local path, or a URI ({@code hdfs://…}, {@code s3a://…}) that lora4j-spark reads and writes through Hadoop's
 * file systems. {@link #replace} gives each worker the flags with local copies in their place.
 */
record RunPaths(String model, String data, String evalData, String out) {
    static final String MODEL = "--model", DATA = "--data", EVAL_DATA = "--eval-data", OUT = "--out";

    static RunPaths of(List<String> args) {
        return new RunPaths(value(args, MODEL), value(args, DATA), value(args, EVAL_DATA), value(args, OUT));
    }

    /** The URIs among the inputs, by flag. */
    Map<String, String> remoteInputs() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        if (isRemote(model)) m.put(MODEL, model);
        if (isRemote(data)) m.put(DATA, data);
        if (isRemote(evalData)) m.put(EVAL_DATA, evalData);
        return m;
    }

    /** The inputs that are given, in order. */
    List<String> inputs() {
        List<String> l = new ArrayList<>();
        for (String s : new String[] {model, data, evalData}) if (s != null) l.add(s);
        return l;
    }

    /** True for a URI of a file system other than the local one ({@code file:} URIs are local paths). */
    static boolean isRemote(String location) {
        return location != null && DistributedTraining.isUri(location) && !location.regionMatches(true, 0, "file:", 0, 5);
    }

    /** {@code args} with every {@code file:} URI among the locations as the local path it names. */
    static List<String> withLocalFiles(List<String> args) {
        RunPaths p = of(args);
        Map<String, String> local = new java.util.HashMap<>();
        String[][] flags = {{MODEL, p.model}, {DATA, p.data}, {EVAL_DATA, p.evalData}, {OUT, p.out}};
        for (String[] f : flags) {
            if (f[1] != null && DistributedTraining.isUri(f[1]) && !isRemote(f[1])) local.put(f[0], java.nio.file.Path.of(java.net.URI.create(f[1])).toString());
        }
        return local.isEmpty() ? args : replace(args, local);
    }

    /** {@code args} with the values of the flags in {@code values} replaced. */
    static List<String> replace(List<String> args, Map<String, String> values) {
        List<String> out = new ArrayList<>(args);
        for (int i = 0; i < out.size(); i++) {
            String a = out.get(i);
            int eq = a.indexOf('=');
            String flag = eq < 0 ? a : a.substring(0, eq);
            if (!values.containsKey(flag)) continue;
            if (eq >= 0) out.set(i, flag + "=" + values.get(flag));
            else if (i + 1 < out.size()) out.set(++i, values.get(flag));
        }
        return out;
    }

    private static String value(List<String> args, String flag) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals(flag) && i + 1 < args.size()) return args.get(i + 1);
            if (a.startsWith(flag + "=")) return a.substring(flag.length() + 1);
        }
        return null;
    }
}
