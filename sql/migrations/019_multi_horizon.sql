-- How far ahead a lead places the runs of tasks with other participants.  Each such run costs
-- a round of requests to every participant (free time, the run, its data, the data again), so
-- a whole day ahead (schedule_horizon) made a lead of 15 PT10M throughput tasks place 2,160
-- runs at once, and every participant answer them: in a 16-node mesh that kept every node busy
-- for over an hour.  An hour ahead still shows every participant the coming runs.
ALTER TABLE configurables ADD COLUMN multi_horizon interval NOT NULL DEFAULT 'PT1H';
