//! Files written whole or not at all: a temporary file beside the target, synced,
//! then renamed over it, so a killed shard or merge never leaves a half-written part
//! that a later merge would read.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::SweepError;

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

pub(crate) fn atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), SweepError> {
    let tmp = temporary_beside(path);
    let result = (|| -> std::io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
        write(&mut out)?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        SweepError::Io(format!("cannot write `{}`: {e}", path.display()))
    })
}
