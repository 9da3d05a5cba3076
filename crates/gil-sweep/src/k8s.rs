//! A Kubernetes Indexed Job for a planned sweep (`gil sweep plan --emit k8s`): one pod
//! per shard, each running `gil sweep run DIR --shard auto`, which reads the pod's
//! `JOB_COMPLETION_INDEX`. The sweep folder must be on a volume every pod mounts.

/// Where the Job finds gil and the sweep folder.
#[derive(Debug, Clone)]
pub struct JobSpec<'a> {
    /// A Kubernetes name: the sweep id, lower-cased, other characters as `-`.
    pub sweep_id: &'a str,
    pub shards: usize,
    pub image: &'a str,
    /// The PersistentVolumeClaim holding the sweep folder.
    pub claim: &'a str,
    /// The sweep folder inside the claim.
    pub folder: &'a str,
}

/// A name Kubernetes accepts (RFC 1123 label, at most 63 characters).
pub fn job_name(id: &str) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    name.truncate(52);
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "gil-sweep".to_string()
    } else {
        format!("gil-sweep-{name}")
            .chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string()
    }
}

/// The manifest text. A failing shard is retried on its own (`backoffLimitPerIndex`)
/// without failing the others, and a rerun skips the shards already written.
pub fn indexed_job(spec: &JobSpec<'_>) -> String {
    let name = job_name(spec.sweep_id);
    let mount = "/sweeps";
    let folder = format!("{mount}/{}", spec.folder.trim_start_matches('/'));
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "# A Kubernetes Indexed Job running every shard of the sweep `{id}`.\n\
         # Each pod runs one shard: `gil sweep run` reads JOB_COMPLETION_INDEX.\n\
         # Afterwards: gil sweep merge {folder_plain}\n\
         apiVersion: batch/v1\n\
         kind: Job\n\
         metadata:\n\
         \x20 name: {name}\n\
         \x20 labels:\n\
         \x20   app.kubernetes.io/name: gil\n\
         \x20   gil.sweep/id: {label}\n\
         spec:\n\
         \x20 completionMode: Indexed\n\
         \x20 completions: {n}\n\
         \x20 parallelism: {n}\n\
         \x20 backoffLimitPerIndex: 2\n\
         \x20 maxFailedIndexes: {n}\n\
         \x20 template:\n\
         \x20   spec:\n\
         \x20     restartPolicy: Never\n\
         \x20     containers:\n\
         \x20       - name: gil\n\
         \x20         image: {image}\n\
         \x20         command: [\"gil\", \"sweep\", \"run\", {folder}, \"--shard\", \"auto\"]\n\
         \x20         volumeMounts:\n\
         \x20           - name: sweeps\n\
         \x20             mountPath: {mount}\n\
         \x20     volumes:\n\
         \x20       - name: sweeps\n\
         \x20         persistentVolumeClaim:\n\
         \x20           claimName: {claim}\n",
        id = spec.sweep_id,
        folder_plain = folder,
        name = name,
        label = quote(&job_name(spec.sweep_id)),
        n = spec.shards,
        image = quote(spec.image),
        folder = quote(&folder),
        mount = mount,
        claim = quote(spec.claim),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_rfc1123_labels() {
        assert_eq!(
            job_name("Voucher uncertainty!"),
            "gil-sweep-voucher-uncertainty"
        );
        let long = job_name(&"x".repeat(200));
        assert!(long.len() <= 63);
        assert_eq!(job_name("___"), "gil-sweep");
    }
}
