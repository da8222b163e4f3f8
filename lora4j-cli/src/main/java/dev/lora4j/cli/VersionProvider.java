package dev.lora4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/**
 * {@code lora4j --version}: the version and the git commit the CLI was built from, as the build recorded them in
 * {@code git.properties} (git-commit-id-maven-plugin); "+dirty" when the tree had uncommitted changes.
 */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("git.properties")) {
            if (in != null) p.load(in);
        }
        String version = p.getProperty("git.build.version", "unknown version");
        String commit = p.getProperty("git.commit.id.abbrev", "unknown commit");
        boolean dirty = Boolean.parseBoolean(p.getProperty("git.dirty", "false"));
        return new String[] {"lora4j " + version + " (commit " + commit + (dirty ? "+dirty" : "") + ")"};
    }
}
