/**
 * The jobs table as the job service sees it, with each job's request and result sealed under the
 * master key (encryption at rest): an optimisation's input and answer name admissions and cases,
 * and a training request names datasets, targets and de-identification rules. The same envelope
 * as artifacts and monitoring samples (`sealJson`); rows written before a key was set stay
 * readable as they are.
 */
import type { ArtifactCipher, JobRecord, JobRepository, JsonObject } from '../store/index.js';
import { openJson, sealJson } from '../store/index.js';

/** The job methods of the metadata store the job service uses. */
export type JobStore = Pick<
  JobRepository,
  'insertJob' | 'getJob' | 'listJobs' | 'updateJob' | 'appendJobLog' | 'listJobLogs'
>;

/** `store`'s job methods, sealing requests and results on the way in and opening them on the way out. */
export function sealedJobStore(store: JobRepository, cipher: ArtifactCipher | undefined): JobStore {
  if (!cipher) return store;
  const seal = (value: JsonObject): JsonObject => sealJson(cipher, value);
  const open = (job: JobRecord): JobRecord => ({
    ...job,
    request: openJson(cipher, job.request, `the request of job ${job.id}`) as JsonObject,
    result: job.result && (openJson(cipher, job.result, `the result of job ${job.id}`) as JsonObject),
  });
  return {
    insertJob: (record) =>
      store.insertJob({
        ...record,
        request: seal(record.request),
        ...(record.result && { result: seal(record.result) }),
      }),
    getJob: async (id) => {
      const job = await store.getJob(id);
      return job && open(job);
    },
    listJobs: async (options) => (await store.listJobs(options)).map(open),
    updateJob: (id, patch, whenState) =>
      store.updateJob(id, patch.result ? { ...patch, result: seal(patch.result) } : patch, whenState),
    appendJobLog: (id, lines) => store.appendJobLog(id, lines),
    listJobLogs: (id, options) => store.listJobLogs(id, options),
  };
}

/**
 * Re-seals every job's request and result under the current master key (after a rotation, or to
 * encrypt rows written before a key was set); returns how many jobs.
 */
export async function resealJobs(store: JobRepository, cipher: ArtifactCipher | undefined): Promise<number> {
  if (!cipher) return 0;
  const jobs = await sealedJobStore(store, cipher).listJobs({ limit: Number.MAX_SAFE_INTEGER });
  for (const job of jobs) {
    await store.replaceJobPayload(
      job.id,
      sealJson(cipher, job.request),
      job.result && sealJson(cipher, job.result),
    );
  }
  return jobs.length;
}
