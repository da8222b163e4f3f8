package dev.lora4j.spark;

import dev.lora4j.io.Output;
import dev.lora4j.train.FineTune;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * The driver's claim on a run's {@code --out}, held while the workers train: a local directory ({@link Output}, through
 * the same {@link FineTune} code as a single-machine run) or a directory on a Hadoop file system ({@link RemoteOutput},
 * under the same rules). {@link #prepare} runs once every worker has validated the run; {@link #publish} moves the
 * result rank 0 staged into place.
 */
interface RunOutput extends AutoCloseable {
    /** Where the run is written, as {@link FineTune.Result#output} reports it. */
    Path path();

    /** Clears a run being replaced and records the names the run writes (the first write into the output). */
    void prepare();

    /** Moves the staged result up beside the checkpoints. */
    void publish();

    @Override
    void close();

    /** Claims {@code driver}'s output, or the remote one {@code trainArgs} name. */
    static RunOutput claim(FineTune driver, List<String> trainArgs, Configuration hadoop) {
        RunPaths paths = RunPaths.of(trainArgs);
        if (RunPaths.isRemote(paths.out())) {
            Output.Mode mode = trainArgs.contains("--resume") ? Output.Mode.CONTINUE
                    : trainArgs.contains("--overwrite") ? Output.Mode.OVERWRITE : Output.Mode.NEW;
            return RemoteOutput.claim(paths.out(), mode, paths.inputs(), hadoop);
        }
        Output out = driver.claimOutput();
        return new RunOutput() {
            @Override public Path path() { return out.path(); }
            @Override public void prepare() { driver.prepareOutput(out); }
            @Override public void publish() { driver.publishResult(out); }
            @Override public void close() { out.close(); }
        };
    }
}
