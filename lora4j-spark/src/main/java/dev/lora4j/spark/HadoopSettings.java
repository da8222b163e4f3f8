package dev.lora4j.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;

/**
 * The driver's Hadoop configuration (its {@code core-site.xml}, and every {@code spark.hadoop.*} setting: file system
 * implementations, credentials) shipped to the tasks, as Spark ships it for its own Hadoop reads: every worker opens
 * {@code hdfs://…}, {@code s3a://…} with the settings the driver has.
 */
record HadoopSettings(byte[] bytes) implements Serializable {
    static HadoopSettings of(Configuration conf) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(b)) {
            conf.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new HadoopSettings(b.toByteArray());
    }

    Configuration configuration() {
        Configuration conf = new Configuration(false);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            conf.readFields(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return conf;
    }
}
