/* journal.h: the state directory's redo journal (journal.c): a batch's
 * source files written to one file and synced before any of them is
 * replaced, so that a crash half-way is completed at the next start. */
#ifndef VRD_JOURNAL_H
#define VRD_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

/* Starts a journal for the batch that will be generation gen. */
void journal_begin(struct buf *j, uint64_t gen);
/* Adds the new content of one source file (data NULL: its removal). */
void journal_add(struct buf *j, enum store_dir d, const char *name, const char *data,
    size_t len);
/* Ends it.  Returns 0, -ENOMEM, or -EFBIG when it is over JOURNAL_MAX. */
int journal_end(struct buf *j);
/* Writes it durably in the state directory topfd (temporary name, sync,
 * rename, sync of the directory).  Returns 0 or a negative errno, after
 * which there is no journal. */
int journal_write(int topfd, const struct buf *j);
/* Removes it, the batch being wholly in place or wholly abandoned; with
 * sync, the removal is made durable too. */
void journal_remove(int topfd, bool sync);
/* At open: completes the batch of a journal left by a crash (its files
 * written, directories synced, generation set) and removes it; one that
 * is not a complete vrd journal is moved to quarantine/ and the state before
 * it stands.  Returns 0 or a negative errno with err. */
int journal_replay(struct store *s, char *err, size_t errlen);

#endif
