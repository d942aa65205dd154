/* job_kinds.c: the table of job kinds the engine runs, by the name the
 * job row carries.  A new VM command is one more row. */
#include <string.h>

#include "job.h"

extern const struct job_kind job_kind_deploy, job_kind_destroy, job_kind_create,
    job_kind_start, job_kind_stop, job_kind_reboot, job_kind_resetpassword;

static const struct job_kind *const job_kinds[] = {
	&job_kind_deploy,
	&job_kind_destroy,
	&job_kind_create,
	&job_kind_start,
	&job_kind_stop,
	&job_kind_reboot,
	&job_kind_resetpassword,
};

const struct job_kind *
job_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(job_kinds) / sizeof(job_kinds[0]); i++)
		if (!strcmp(job_kinds[i]->name, name))
			return job_kinds[i];
	return NULL;
}
